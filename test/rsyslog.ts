// An rsyslogd of a test's or bench's own: its configuration, written here once for both.

/** An rsyslog configuration: imtcp on a port it picks (written to portFile), everything forwarded to ingot. */
export function rsyslogForwardConfig(options: { workDir: string; portFile: string; ingotPort: number }): string {
  return [
    `global(workDirectory="${options.workDir}")`,
    'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${options.portFile}")`,
    `action(type="omfwd" target="127.0.0.1" port="${options.ingotPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
    "",
  ].join("\n");
}
