import { describe, expect, it } from 'vitest'
import { formatDuration, formatMessage, formatTime, safeLine, safeLines, shortId } from '../../cli/format.js'

describe('human output', () => {
  it('replaces terminal controls and bidi overrides in remote text', () => {
    expect(safeLine('a\u001b[2Jb\u0007c\u009bd\u202ee\u2066f\tg\r\nh')).toBe('a\uFFFD[2Jb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\tg h')
    expect(safeLines('one\r\ntwo\u0000\nthree')).toEqual(['one', 'two\uFFFD', 'three'])
    expect(safeLine('émoji 🗝 ok')).toBe('émoji 🗝 ok')
  })

  it('shortens long IDs only', () => {
    expect(shortId('~AQEBAQEBAQEBAQEBAQEBAQEBAQEB')).toBe('~AQEBAQEBAQ…')
    expect(shortId('you')).toBe('you')
  })

  it('formats times and durations without locale data', () => {
    const local = new Date(2026, 0, 2, 3, 4, 5).getTime()
    expect(formatTime(local)).toBe('2026-01-02 03:04')
    expect(formatTime(Number.NaN)).toBe('????-??-?? ??:??')
    expect([12_000, 62_000, 3_720_000, 90_000_000].map(formatDuration)).toEqual(['12s', '1m 2s', '1h 2m', '1d 1h'])
  })

  it('formats a message: sender, body lines indented, emotes, non-text bodies', () => {
    const ts = new Date(2026, 0, 2, 3, 4).getTime()
    expect(formatMessage({ sender: '~me', content: { body: 'a\nb' }, originServerTs: ts }, { self: '~me', time: 'clock' })).toBe('03:04  you: a\n         b')
    expect(formatMessage({ sender: '~other', content: { msgtype: 'm.emote', body: 'waves' }, originServerTs: ts })).toBe('2026-01-02 03:04  * ~other waves')
    expect(formatMessage({ sender: '~other', content: { body: 42 }, originServerTs: ts })).toBe('2026-01-02 03:04  ~other: (no text)')
  })
})
