import { describe, expect, it } from 'vitest'
import { LineSplitter, encodeLine, parseRequest, parseServerLine, requestIdOf } from '../../../cli/control/protocol.js'

describe('control protocol', () => {
  it('splits lines across chunks, drops blank lines and a CR before the LF', () => {
    const s = new LineSplitter(100)
    expect(s.push(Buffer.from('{"a":'))).toEqual([])
    expect(s.push(Buffer.from('1}\r\n\n  \n{"b":2}\n{"c"'))).toEqual(['{"a":1}', '{"b":2}'])
    expect(s.push(Buffer.from(':3}\n'))).toEqual(['{"c":3}'])
  })

  it('keeps multi-byte UTF-8 whole when a chunk splits a character', () => {
    const bytes = Buffer.from('{"body":"héllo 🗝"}\n')
    const s = new LineSplitter(100)
    const lines = [...s.push(bytes.subarray(0, 12)), ...s.push(bytes.subarray(12))]
    expect(lines).toEqual(['{"body":"héllo 🗝"}'])
  })

  it('refuses a line over the bound as soon as it passes it, newline or not', () => {
    const s = new LineSplitter(10)
    expect(s.push(Buffer.from('0123456789\n'))).toEqual(['0123456789'])
    expect(() => s.push(Buffer.from('01234567890'))).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_REQUEST_TOO_LARGE' }))
    const t = new LineSplitter(10)
    t.push(Buffer.from('012345'))
    expect(() => t.push(Buffer.from('67890'))).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_REQUEST_TOO_LARGE' }))
  })

  it('parses requests, with the reason for each bad shape', () => {
    expect(parseRequest('{"id":1,"method":"status"}')).toEqual({ id: 1, method: 'status', params: {} })
    expect(parseRequest('{"id":"x","method":"send","params":{"room":"r","body":"b"}}')).toEqual({ id: 'x', method: 'send', params: { room: 'r', body: 'b' } })
    const cases: Array<[string, RegExp, string | number | null]> = [
      ['nope', /not JSON/, null],
      ['[]', /expected a request object, got an array/, null],
      ['{"method":"status"}', /"id" to be an integer or a short string, got a undefined/, null],
      ['{"id":1.5,"method":"status"}', /"id"/, null],
      ['{"id":1,"method":"status","params":[1]}', /"params" to be an object, got an array/, 1],
      ['{"id":2,"method":7}', /"method" to be a string, got a number/, 2],
      ['{"id":3,"method":"constructor"}', /unknown method "constructor"/, 3]
    ]
    for (const [line, message, id] of cases) {
      let caught: unknown
      try { parseRequest(line) } catch (err) { caught = err }
      expect(caught, line).toMatchObject({ code: 'ERR_CONTROL_BAD_REQUEST', message: expect.stringMatching(message) })
      expect(requestIdOf(caught)).toBe(id)
    }
  })

  it('parses what the daemon sends: responses and events; anything else is refused', () => {
    expect(parseServerLine('{"id":1,"ok":true,"result":{"a":1}}')).toEqual({ id: 1, ok: true, result: { a: 1 } })
    expect(parseServerLine('{"id":1,"ok":false,"error":{"code":"E","message":"m","hint":"h"}}')).toEqual({ id: 1, ok: false, error: { code: 'E', message: 'm', hint: 'h' } })
    expect(parseServerLine('{"event":"message","data":{"x":1}}')).toEqual({ event: 'message', data: { x: 1 } })
    for (const bad of ['{', '{"id":1,"ok":false}', '{"id":1}', '3']) {
      expect(() => parseServerLine(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_BAD_REQUEST' }))
    }
  })

  it('frames one JSON value per line, even with newlines inside strings', () => {
    const line = encodeLine({ body: 'two\nlines' })
    expect(line.split('\n')).toHaveLength(2)
    expect(JSON.parse(line)).toEqual({ body: 'two\nlines' })
  })
})
