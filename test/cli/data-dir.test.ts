import { describe, expect, it } from 'vitest'
import { resolveDataDir } from '../../cli/data-dir.js'

const base = { env: {}, homedir: '/home/ada', cwd: '/work' }

describe('data directory', () => {
  it('prefers --data-dir, resolved against the working directory', () => {
    expect(resolveDataDir({ ...base, platform: 'linux', flag: '/srv/kr', env: { KEYROOM_HOME: '/x' } })).toBe('/srv/kr')
    expect(resolveDataDir({ ...base, platform: 'linux', flag: 'rel/dir' })).toBe('/work/rel/dir')
  })

  it('then $KEYROOM_HOME (an empty one counts as unset)', () => {
    expect(resolveDataDir({ ...base, platform: 'linux', env: { KEYROOM_HOME: '/opt/kr' } })).toBe('/opt/kr')
    expect(resolveDataDir({ ...base, platform: 'darwin', env: { KEYROOM_HOME: 'here' } })).toBe('/work/here')
    expect(resolveDataDir({ ...base, platform: 'linux', env: { KEYROOM_HOME: '' } })).toBe('/home/ada/.local/share/keyroom')
  })

  it('then the platform user data directory', () => {
    expect(resolveDataDir({ ...base, platform: 'linux' })).toBe('/home/ada/.local/share/keyroom')
    expect(resolveDataDir({ ...base, platform: 'linux', env: { XDG_DATA_HOME: '/data' } })).toBe('/data/keyroom')
    // XDG Base Directory spec: relative paths in XDG variables are invalid and ignored.
    expect(resolveDataDir({ ...base, platform: 'linux', env: { XDG_DATA_HOME: 'data' } })).toBe('/home/ada/.local/share/keyroom')
    expect(resolveDataDir({ ...base, platform: 'freebsd' })).toBe('/home/ada/.local/share/keyroom')
    expect(resolveDataDir({ ...base, platform: 'darwin' })).toBe('/home/ada/Library/Application Support/keyroom')
    expect(resolveDataDir({ env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, homedir: 'C:\\Users\\ada', cwd: 'C:\\', platform: 'win32' }))
      .toBe('C:\\Users\\ada\\AppData\\Roaming\\keyroom')
    expect(resolveDataDir({ env: {}, homedir: 'C:\\Users\\ada', cwd: 'C:\\', platform: 'win32' })).toBe('C:\\Users\\ada\\AppData\\Roaming\\keyroom')
  })
})
