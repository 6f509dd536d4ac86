// Structured logs: a message with key=value fields in logfmt, so a log pipeline can pick fields out
// of Envoy's log line without a regex per message:
//
//   new LogLine('tenant routed').str('tenant', tenant).int('status', 400).bool('cached', false).info();
//   // → tenant routed tenant=acme status=400 cached=false
//
// Values with spaces, quotes, "=" or control characters are written as JSON strings ("a b").
import { getLogLevel, log } from './host';
import { jsonQuote } from './json';
import { LogLevel } from './types';

function needsQuotes(s: string): bool {
  if (s.length == 0) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c == 34 || c == 61 || c == 92 || c == 127) return true;
  }
  return false;
}

export class LogLine {
  private line: string;

  constructor(message: string) {
    this.line = message;
  }

  /** A text field (quoted when it has spaces, quotes, "=" or control characters). */
  str(key: string, value: string): LogLine {
    this.line += ' ' + key + '=' + (needsQuotes(value) ? jsonQuote(value) : value);
    return this;
  }
  int(key: string, value: i64): LogLine {
    this.line += ' ' + key + '=' + value.toString();
    return this;
  }
  num(key: string, value: f64): LogLine {
    this.line += ' ' + key + '=' + value.toString();
    return this;
  }
  bool(key: string, value: bool): LogLine {
    this.line += ' ' + key + '=' + (value ? 'true' : 'false');
    return this;
  }

  toString(): string {
    return this.line;
  }

  /** Logs at `level` when the host's level lets it through. */
  emit(level: LogLevel): void {
    if (<i32>level >= <i32>getLogLevel()) log(level, this.line);
  }
  trace(): void {
    this.emit(LogLevel.Trace);
  }
  debug(): void {
    this.emit(LogLevel.Debug);
  }
  info(): void {
    this.emit(LogLevel.Info);
  }
  warn(): void {
    this.emit(LogLevel.Warn);
  }
  error(): void {
    this.emit(LogLevel.Error);
  }
  critical(): void {
    this.emit(LogLevel.Critical);
  }
}
