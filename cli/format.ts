/**
 * Human output: text that came from other people (message bodies, room and display names) is
 * made safe for a terminal, IDs are shortened where a full one would drown the line, times are
 * local and locale-free (the same on every machine).
 */

/**
 * Characters never written to a terminal as they are: C0 controls (but tab), DEL, C1 controls —
 * an ESC from a remote message could move the cursor, rewrite earlier lines or set the window
 * title — and the bidirectional overrides and isolates ("Trojan Source", CVE-2021-42574), which
 * could make a line read differently than it is. Each becomes U+FFFD.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

/** `text` with every unsafe character replaced by U+FFFD; line breaks too (one line out). */
export function safeLine (text: string): string {
  return text.replace(/\r\n|\r|\n/gu, ' ').replace(UNSAFE, '\uFFFD')
}

/** `text` split into safe lines (line breaks kept as separate lines). */
export function safeLines (text: string): string[] {
  return text.split(/\r\n|\r|\n/u).map((line) => line.replace(UNSAFE, '\uFFFD'))
}

/**
 * Characters shown by {@link shortId} after the sigil. The first one or two only encode the key
 * format's version byte, so 10 leave about 48 bits of key: enough to tell people apart at a
 * glance (never to authenticate anyone: full IDs are in every `--json` output).
 */
export const SHORT_ID_CHARS = 10

/** `~AbCdEfGh…` for a long ID (user, device, room, event); short strings unchanged. */
export function shortId (id: string): string {
  return id.length <= SHORT_ID_CHARS + 2 ? id : `${id.slice(0, SHORT_ID_CHARS + 1)}…`
}

/** `YYYY-MM-DD HH:MM` in local time, without locale data (stable across machines). */
export function formatTime (ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return '????-??-?? ??:??'
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

/** `HH:MM` in local time. */
export function formatClock (ms: number): string {
  return formatTime(ms).slice(11)
}

/** `3d 4h`, `5m 2s`, `12s`: a duration for people. */
export function formatDuration (ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** A message as history and chat print it: `[time] sender: body` (body lines indented). */
export interface PrintableMessage {
  sender: string
  content: Readonly<Record<string, unknown>>
  originServerTs: number
}

/** Lines of one message for people; `self` marks the local user's messages as `you`. */
export function formatMessage (message: PrintableMessage, options: { self?: string, time?: 'date' | 'clock' } = {}): string {
  const who = message.sender === options.self ? 'you' : shortId(message.sender)
  const time = options.time === 'clock' ? formatClock(message.originServerTs) : formatTime(message.originServerTs)
  const body = typeof message.content.body === 'string' ? message.content.body : '(no text)'
  const [first = '', ...rest] = safeLines(body)
  const head = message.content.msgtype === 'm.emote' ? `${time}  * ${who} ${first}` : `${time}  ${who}: ${first}`
  return [head, ...rest.map((line) => `${' '.repeat(time.length + 4)}${line}`)].join('\n')
}

/** Pads `text` to `width` columns (by code points, which is what these IDs and words are). */
export function pad (text: string, width: number): string {
  const length = [...text].length
  return length >= width ? text : text + ' '.repeat(width - length)
}
