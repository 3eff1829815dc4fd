import { describe, expect, it } from 'vitest';
import { redactUrl, sanitizeSql } from '../../../observability/tracing.ts';

describe('span attribute redaction', () => {
  it('removes literal values from SQL, keeping its shape', () => {
    expect(sanitizeSql("select `s`.* from `sessions` as `s` where `s`.`token_hash` = 'abc''def' and `s`.`n` = 42 and x = -1.5e3 limit 1"))
      .toBe('select `s`.* from `sessions` as `s` where `s`.`token_hash` = ? and `s`.`n` = ? and x = ? limit ?');
    expect(sanitizeSql("insert into `t1` (`col2`, `b`) values ('someone@example.com', X'DEADBEEF'), ($1, 7) returning `version`"))
      .toBe('insert into `t1` (`col2`, `b`) values (?, ?), ($1, ?) returning `version`');
    expect(sanitizeSql("insert into `m` (`body`, `data`) values ('don\\'t say \\\\ 123456', '{\"to\":\"a@b.c\",\"code\":\"037642\"}')"))
      .toBe('insert into `m` (`body`, `data`) values (?, ?)');
    expect(sanitizeSql("select 1 where a = 'unterminated secret")).toBe('select ? where a = […]');
  });

  it('removes userinfo and sensitive query values from URLs', () => {
    expect(redactUrl('https://user:pw@hooks.example/x?token=abc&flow=1&Code=9')).toBe('https://hooks.example/x?token=REDACTED&flow=1&Code=REDACTED');
    expect(redactUrl('not a url?token=1')).toBe('not a url');
  });
});
