import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseSyslog } from "./syslog-message.ts";
import { SyslogFrameReader } from "./syslog-frame.ts";

const texts = (frames: { bytes: Buffer }[]) => frames.map((frame) => frame.bytes.toString());

test("octet-counted and LF-terminated frames, split anywhere across chunks", () => {
  const stream = Buffer.from("5 hello11 <14>1 a b c\n<13>plain line\n3 end");
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new SyslogFrameReader();
    const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assert.deepEqual(texts(frames), ["hello", "<14>1 a b c", "<13>plain line", "end"], `cut at ${cut}`);
  }
});

test("a length prefix of 2 GB is refused without allocating, and the reader resyncs at the next LF", () => {
  const reader = new SyslogFrameReader();
  const frames = reader.push(Buffer.from("2147483648 <14>1 evil\n5 hello"));
  assert.deepEqual(texts(frames), ["hello"]);
  assert.equal(reader.brokenFrames, 1);
  assert.equal(reader.bufferedBytes, 0);
  assert.deepEqual(texts(new SyslogFrameReader().push(Buffer.from("99999999999999999999 x\n4 next"))), ["next"]);
});

test("an oversized message is cut at the limit and marked; the next one is whole", () => {
  const limits = { maxMessageBytes: 10, maxPlausibleBytes: 1000 };
  const counted = new SyslogFrameReader(limits).push(Buffer.from(`30 ${"a".repeat(30)}3 end`));
  assert.deepEqual(counted.map((frame) => [frame.bytes.toString(), frame.truncated]), [["a".repeat(10), true], ["end", false]]);
  const reader = new SyslogFrameReader(limits);
  assert.deepEqual(reader.push(Buffer.from(`<1>${"b".repeat(5000)}`)), []);
  assert.equal(reader.bufferedBytes, 10);
  assert.deepEqual(reader.push(Buffer.from("bb\n<1>x\n")).map((frame) => [frame.bytes.toString(), frame.truncated]), [[`<1>${"b".repeat(7)}`, true], ["<1>x", false]]);
});

test("end() hands over a last line sent without LF", () => {
  const reader = new SyslogFrameReader();
  assert.deepEqual(reader.push(Buffer.from("<14>tail")), []);
  assert.deepEqual(texts(reader.end()), ["<14>tail"]);
});

test("fuzz: random bytes and mangled frames never throw, and memory stays bounded", () => {
  const limits = { maxMessageBytes: 256, maxPlausibleBytes: 4096 };
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ maxLength: 300 }).map((text) => Buffer.from(`${Buffer.byteLength(text)} ${text}`)),
    fc.tuple(fc.nat(), fc.string()).map(([length, text]) => Buffer.from(`${length} ${text}`)),
    fc.string({ maxLength: 300 }).map((text) => Buffer.from(`<${text.length % 200}>1 ${text}\n`)),
  );
  fc.assert(fc.property(fc.array(frame, { maxLength: 30 }), fc.array(fc.nat({ max: 50 }), { maxLength: 20 }), (frames, cuts) => {
    const stream = Buffer.concat(frames);
    const reader = new SyslogFrameReader(limits);
    let index = 0;
    for (const cut of [...cuts, stream.length]) {
      const chunk = stream.subarray(index, Math.min(stream.length, index + cut + 1));
      index += chunk.length;
      for (const out of reader.push(chunk)) {
        assert.ok(out.bytes.length <= limits.maxMessageBytes);
        parseSyslog(out.bytes, 0, out);
      }
      assert.ok(reader.bufferedBytes <= limits.maxMessageBytes);
      if (index >= stream.length) break;
    }
    for (const out of reader.end()) parseSyslog(out.bytes, 0, out);
  }), { numRuns: 2000 });
});
