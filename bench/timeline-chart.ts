// "Where the time goes" as a plain SVG: one row a phase, its bar starting where the previous phase
// ended and as wide as its duration, so the bars read as a timeline left to right. No dependency:
// the docs embed the file as an image, and GitHub renders SVG without scripts or fonts of its own.

export interface Phase {
  name: string;
  ms: number;
}

export interface TimelineChart {
  title: string;
  /** A line under the title: what was measured, and how. */
  caption: string;
  /** The command that produced the figures, printed under the caption. */
  command: string;
  phases: Phase[];
}

const WIDTH = 760;
const LABEL_WIDTH = 250;
const VALUE_WIDTH = 70;
const BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
const ROW = 26;
const TOP = 76;
const COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

/**
 * @example
 * timelineSvg({ title: "Boot", caption: "median of 7", command: "npm run bench:instances", phases: [{ name: "kernel", ms: 1500 }, { name: "app", ms: 2300 }] });
 * // '<svg xmlns="http://www.w3.org/2000/svg" …><rect class="phase" x="250" … width="…"/>…</svg>\n'
 */
export function timelineSvg(chart: TimelineChart): string {
  if (chart.phases.length === 0) throw new Error(`Cannot draw ${chart.title} as it has no phases`);
  const bad = chart.phases.find((phase) => !Number.isFinite(phase.ms) || phase.ms < 0);
  if (bad) throw new Error(`Cannot draw the phase ${bad.name} of ${chart.title} as its duration is not a number of ms ≥ 0: ${bad.ms}`);
  const totalMs = chart.phases.reduce((sum, phase) => sum + phase.ms, 0);
  const scale = totalMs === 0 ? 0 : BAR_AREA / totalMs;
  const axisY = TOP + chart.phases.length * ROW + 8;
  const height = axisY + 40;
  let startMs = 0;
  const rows = chart.phases.map((phase, index) => {
    const y = TOP + index * ROW;
    const x = LABEL_WIDTH + startMs * scale;
    const width = phase.ms * scale;
    startMs += phase.ms;
    return [
      `  <text x="${LABEL_WIDTH - 10}" y="${y + 16}" text-anchor="end">${escapeXml(phase.name)}</text>`,
      `  <rect class="phase" x="${round(x)}" y="${y + 4}" width="${round(width)}" height="${ROW - 8}" fill="${COLOURS[index % COLOURS.length]}"><title>${escapeXml(`${phase.name}: ${seconds(phase.ms)}`)}</title></rect>`,
      `  <text x="${round(x + width + 6)}" y="${y + 16}">${seconds(phase.ms)}</text>`,
    ].join("\n");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `  <rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `  <text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `  <text x="10" y="42" fill="#555555">${escapeXml(chart.caption)}</text>`,
    `  <text x="10" y="60" fill="#555555" font-family="Menlo, Consolas, monospace" font-size="12">$ ${escapeXml(chart.command)}</text>`,
    ...rows,
    ...axis(totalMs, scale, axisY),
    "</svg>",
    "",
  ].join("\n");
}

/** A line under the bars with a tick every whole step (0.5, 1 or 2 s …) and the phases' sum at its end. */
function axis(totalMs: number, scale: number, y: number): string[] {
  const step = [100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000].find((candidate) => totalMs / candidate <= 8) ?? 60000;
  const ticks: string[] = [];
  for (let ms = 0; ms <= totalMs; ms += step) {
    const x = round(LABEL_WIDTH + ms * scale);
    ticks.push(`  <line x1="${x}" y1="${y}" x2="${x}" y2="${y + 5}" stroke="#888888"/>`, `  <text x="${x}" y="${y + 19}" text-anchor="middle" fill="#555555">${seconds(ms)}</text>`);
  }
  const end = round(LABEL_WIDTH + totalMs * scale);
  return [
    `  <line x1="${LABEL_WIDTH}" y1="${y}" x2="${end}" y2="${y}" stroke="#888888"/>`,
    ...ticks,
    `  <text x="${end}" y="${y + 35}" text-anchor="end" font-weight="bold">sum ${seconds(totalMs)}</text>`,
  ];
}

function seconds(ms: number): string {
  // Hundredths of a second rounded half up (2255 ms is 2.26 s; toFixed would give 2.25).
  return ms < 1000 && ms !== 0 ? `${Math.round(ms)} ms` : `${String(Math.round(ms / 10) / 100)} s`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}
