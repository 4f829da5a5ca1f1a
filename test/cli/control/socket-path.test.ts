import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { connectControl } from '../../../cli/control/client.js'
import { CONTROL_SOCKET_NAME, controlSocketPath, probeSocket, removeStaleSocket } from '../../../cli/control/socket-path.js'
import { staleSocket, tempDir } from './fixtures.js'

describe('control socket path', () => {
  it('is control.sock in the data directory; a named pipe on Windows', () => {
    expect(controlSocketPath('/home/ada/.local/share/keyroom', 'linux')).toBe(`/home/ada/.local/share/keyroom/${CONTROL_SOCKET_NAME}`)
    const pipe = controlSocketPath('C:\\Users\\Ada\\AppData\\Roaming\\keyroom', 'win32')
    expect(pipe).toMatch(/^\\\\\.\\pipe\\keyroom-[0-9a-f]{32}$/)
    expect(controlSocketPath('c:\\users\\ada\\appdata\\roaming\\keyroom', 'win32')).toBe(pipe)
  })

  it('refuses a data directory whose socket path would not fit in sun_path', () => {
    expect(() => controlSocketPath('/' + 'x'.repeat(100), 'linux')).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/too long/) }))
  })
})

describe('probe and stale sockets', () => {
  it('tells absent, stale and live apart, and removes only a stale socket', async () => {
    const dir = await tempDir()
    const path = join(dir, CONTROL_SOCKET_NAME)
    expect(await probeSocket(path)).toBe('absent')
    await staleSocket(path)
    expect(await probeSocket(path)).toBe('stale')
    await expect(connectControl({ dataDir: dir, path })).rejects.toMatchObject({ code: 'ERR_NO_RUNNING_NODE', message: `no running node for ${dir}` })
    await removeStaleSocket(path)
    expect(await probeSocket(path)).toBe('absent')
    await removeStaleSocket(path)

    const server = createServer()
    await new Promise<void>((resolve) => { server.listen(path, resolve) })
    try {
      expect(await probeSocket(path)).toBe('live')
    } finally {
      await new Promise((resolve) => { server.close(resolve) })
    }
  })

  it('never deletes a file that is not a socket', async () => {
    const dir = await tempDir()
    const path = join(dir, CONTROL_SOCKET_NAME)
    await writeFile(path, 'mine')
    await expect(removeStaleSocket(path)).rejects.toThrow(/is not a socket/)
    await mkdir(join(dir, 'sub'))
    await expect(removeStaleSocket(join(dir, 'sub'))).rejects.toThrow(/is not a socket/)
  })
})

describe('control client', () => {
  it('gives up on a node that does not answer, with a clear error', async () => {
    const dir = await tempDir()
    const path = join(dir, CONTROL_SOCKET_NAME)
    const server = createServer(() => {})
    await new Promise<void>((resolve) => { server.listen(path, resolve) })
    const client = await connectControl({ dataDir: dir, path })
    try {
      await expect(client.request('status', {}, { timeoutMs: 50 })).rejects.toMatchObject({ message: 'the node did not answer status within 50 ms' })
    } finally {
      client.close()
      server.close()
    }
  })

  it('rejects pending requests when the node hangs up, and refuses new ones', async () => {
    const dir = await tempDir()
    const path = join(dir, CONTROL_SOCKET_NAME)
    const server = createServer((socket) => { socket.once('data', () => { socket.destroy() }) })
    await new Promise<void>((resolve) => { server.listen(path, resolve) })
    const client = await connectControl({ dataDir: dir, path })
    try {
      await expect(client.request('status')).rejects.toThrow(/closed the connection/)
      expect(client.closed).toBe(true)
      await expect(client.request('status')).rejects.toThrow(/closed the connection/)
    } finally {
      server.close()
    }
  })
})
