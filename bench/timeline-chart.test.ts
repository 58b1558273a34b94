import { test } from "node:test";
import assert from "node:assert/strict";
import { timelineSvg } from "./timeline-chart.ts";

/** Fails unless every tag is closed in order, every attribute quoted and every & an entity: what an SVG viewer's XML parser demands. */
function assertWellFormed(xml: string): void {
  const open: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/g;
  let rootClosed = false;
  for (const match of xml.matchAll(token)) {
    assert.ok(match[2], `a stray ${match[0]} at ${match.index}: ${xml.slice(match.index!, match.index! + 40)}`);
    assert.ok(!rootClosed, `content after the root element at ${match.index}`);
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      assert.equal(open.pop(), name, `</${name}> at ${match.index} closes another element`);
      rootClosed = open.length === 0;
    } else if (!selfClosing) open.push(name!);
  }
  assert.deepEqual(open, [], "every element is closed");
  assert.ok(xml.startsWith("<svg ") && rootClosed, "one <svg> root element");
}

/** The phase bars, in order, as numbers. */
function bars(svg: string): { x: number; width: number; title: string }[] {
  return [...svg.matchAll(/<rect class="phase" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]*)<\/title><\/rect>/g)]
    .map((match) => ({ x: Number(match[1]), width: Number(match[2]), title: match[3]! }));
}

const phases = [
  { name: "QEMU start → kernel", ms: 390 },
  { name: "kernel → init", ms: 1509 },
  { name: "init → app <metadata & network>", ms: 53 },
  { name: "app → healthy", ms: 2255 },
];

test("a chart is well-formed SVG, names escaped, with one bar a phase", () => {
  const svg = timelineSvg({ title: "Boot \"to\" healthy", caption: "median of 7", command: "npm run bench:instances -- --boots 7 <&>", phases });
  assertWellFormed(svg);
  const drawn = bars(svg);
  assert.equal(drawn.length, phases.length);
  assert.deepEqual(drawn.map((bar) => bar.title), ["QEMU start → kernel: 390 ms", "kernel → init: 1.51 s", "init → app &lt;metadata &amp; network&gt;: 53 ms", "app → healthy: 2.26 s"]);
  assert.ok(svg.includes(">sum 4.21 s</text>"), "the phases' sum under the axis");
  assert.ok(svg.includes(">$ npm run bench:instances -- --boots 7 &lt;&amp;&gt;</text>"), "the command, escaped");
});

test("bars are as wide as their phases, in proportion, each starting where the previous one ends", () => {
  const drawn = bars(timelineSvg({ title: "t", caption: "c", command: "x", phases }));
  const pixelsPerMs = drawn.reduce((sum, bar) => sum + bar.width, 0) / phases.reduce((sum, phase) => sum + phase.ms, 0);
  drawn.forEach((bar, index) => {
    assert.ok(Math.abs(bar.width - phases[index]!.ms * pixelsPerMs) < 0.05, `${phases[index]!.name}: ${bar.width} px for ${phases[index]!.ms} ms`);
    if (index > 0) assert.ok(Math.abs(bar.x - (drawn[index - 1]!.x + drawn[index - 1]!.width)) < 0.02, `${phases[index]!.name} starts where the previous phase ended`);
  });
  assert.ok(drawn[1]!.width > drawn[0]!.width * 3.8 && drawn[1]!.width < drawn[0]!.width * 3.9, "1509 ms is 3.87 times 390 ms");
});

test("the well-formedness check catches what a viewer would reject", () => {
  assert.throws(() => assertWellFormed("<svg><text>a & b</text></svg>"));
  assert.throws(() => assertWellFormed("<svg><text>a < b</text></svg>"));
  assert.throws(() => assertWellFormed("<svg><g></svg>"));
  assert.throws(() => assertWellFormed("<svg><rect x=1/></svg>"));
});

test("a chart without phases, or with a duration that is not a number, is refused", () => {
  assert.throws(() => timelineSvg({ title: "empty", caption: "", command: "", phases: [] }), /no phases/);
  assert.throws(() => timelineSvg({ title: "t", caption: "", command: "", phases: [{ name: "boot", ms: Number.NaN }] }), /boot of t/);
});
