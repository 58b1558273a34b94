#!/usr/bin/env python3
"""A strict RFC 5424 over TCP receiver with octet-counting framing (RFC 6587) for boot-test.sh.

Run as a QEMU guestfwd connector: the guest's connection is stdin. Appends one JSON object per
frame to the file named by argv[1] ({"pri", "timestamp", "hostname", "app", "procid", "msgid",
"sd", "sd_raw", "msg"}) and, on anything that is not a well-formed frame, an {"error": …} object,
then exits 1.
"""
import json
import re
import sys

HEADER = re.compile(rb"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
SD_NAME = re.compile(rb"[^ =\]\"]{1,32}")


def parse_sd(data, at):
    """The structured data at data[at:]: ({id: {name: value}}, position after it)."""
    if data[at:at + 1] == b"-":
        return {}, at + 1
    elements = {}
    while data[at:at + 1] == b"[":
        match = SD_NAME.match(data, at + 1)
        if not match:
            raise ValueError(f"bad SD-ID at {at + 1}")
        params = elements.setdefault(match.group().decode(), {})
        at = match.end()
        while data[at:at + 1] == b" ":
            name = SD_NAME.match(data, at + 1)
            if not name or data[name.end():name.end() + 2] != b'="':
                raise ValueError(f"bad SD-PARAM at {at + 1}")
            at = name.end() + 2
            value = bytearray()
            while data[at:at + 1] != b'"':
                if at >= len(data):
                    raise ValueError("unterminated SD-PARAM value")
                if data[at:at + 1] == b"\\" and data[at + 1:at + 2] in (b'"', b"\\", b"]"):
                    at += 1
                elif data[at:at + 1] == b"]":
                    raise ValueError(f"unescaped ] in SD-PARAM value at {at}")
                value += data[at:at + 1]
                at += 1
            params[name.group().decode()] = value.decode("utf-8", "surrogateescape")
            at += 1
        if data[at:at + 1] != b"]":
            raise ValueError(f"SD element not closed at {at}")
        at += 1
    if not elements:
        raise ValueError(f"no structured data at {at}")
    return elements, at


def parse_message(data):
    header = HEADER.match(data)
    if not header:
        raise ValueError(f"bad header: {data[:80]!r}")
    pri, timestamp, hostname, app, procid, msgid = header.groups()
    sd, at = parse_sd(data, header.end())
    if at < len(data) and data[at:at + 1] != b" ":
        raise ValueError(f"no space before MSG at {at}")
    return {
        "pri": int(pri), "timestamp": timestamp.decode(), "hostname": hostname.decode(),
        "app": app.decode(), "procid": procid.decode(), "msgid": msgid.decode(), "sd": sd,
        "sd_raw": data[header.end():at].decode("utf-8", "surrogateescape"),
        "msg": data[at + 1:].decode("utf-8", "surrogateescape"),
    }


def read_exactly(stream, count):
    data = bytearray()
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise ValueError(f"EOF inside a frame ({len(data)} of {count} bytes)")
        data += chunk
    return bytes(data)


def main():
    stream = sys.stdin.buffer
    with open(sys.argv[1], "a", encoding="utf-8") as out:
        def record(obj):
            out.write(json.dumps(obj) + "\n")
            out.flush()
        try:
            while True:
                digits = b""
                while True:
                    c = stream.read(1)
                    if not c:
                        if digits:
                            raise ValueError("EOF inside a length")
                        return 0
                    if c == b" ":
                        break
                    digits += c
                if not re.fullmatch(rb"[1-9][0-9]{0,8}", digits):
                    raise ValueError(f"bad frame length {digits[:20]!r}")
                record(parse_message(read_exactly(stream, int(digits))))
        except (ValueError, UnicodeDecodeError) as error:
            record({"error": str(error)})
            return 1


if __name__ == "__main__":
    sys.exit(main())
