import { describe, expect, it } from 'vitest'
import { CliError, EXIT_NOT_SUPPORTED, reportError, usageError } from '../../cli/errors.js'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { fakeIo } from './fake-io.js'

describe('reportError', () => {
  it('maps error codes to their exit codes and prints one line and a hint', () => {
    const cases: Array<[unknown, number, string]> = [
      [new KeyroomError(ErrorCode.NoRunningNode, 'no running node for /d', { hint: 'start one' }), 3, 'keyroom: no running node for /d\nhint: start one\n'],
      [new KeyroomError(ErrorCode.NotSupported, 'not yet'), EXIT_NOT_SUPPORTED, 'keyroom: not yet\n'],
      [new KeyroomError(ErrorCode.StoreLocked, 'in use'), 1, 'keyroom: in use\nhint: another keyroom process uses this data directory; stop it, or use another --data-dir\n'],
      [usageError('bad\n  thing'), 2, "keyroom: bad thing\nhint: run 'keyroom --help' for usage\n"],
      [new CliError('failed', undefined, 7), 7, 'keyroom: failed\n'],
      [new Error('boom'), 1, 'keyroom: unexpected error: boom\nhint: run again with --debug for details\n']
    ]
    for (const [err, code, text] of cases) {
      const io = fakeIo()
      expect(reportError(err, io, false)).toBe(code)
      expect(io.err()).toBe(text)
    }
  })
})
