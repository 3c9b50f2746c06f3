/**
 * An SVG of claims/s against claimers in flight (both axes logarithmic),
 * one panel per durability, buildcoord beside its baselines. Hand-written
 * SVG: no dependency, and the file diffs as text.
 */
import type { Row } from './report.ts';

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  bold?: boolean;
  points: [number, number][]; // [in flight, claims/s]
}

export interface Panel {
  title: string;
  series: Series[];
}

// TOP leaves room for the caption and the panel's title; BOTTOM for the axis label and the legend.
const W = 480,
  H = 380,
  LEFT = 64,
  RIGHT = 16,
  TOP = 50,
  BOTTOM = 130;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Powers of ten and their 2x and 5x between lo and hi. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p;
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks;
}

const short = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

function panel(p: Panel, dx: number, xs: number[], lo: number, hi: number): string[] {
  const x = (v: number) => dx + LEFT + (xs.length === 1 ? 0.5 : (Math.log2(v) - Math.log2(xs[0]!)) / (Math.log2(xs[xs.length - 1]!) - Math.log2(xs[0]!))) * (W - LEFT - RIGHT);
  const y = (v: number) => TOP + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - TOP - BOTTOM);
  const out = [`<text x="${dx + LEFT}" y="${TOP - 14}" font-size="14" font-weight="bold">${escapeXml(p.title)}</text>`];
  for (const t of logTicks(lo, hi)) {
    out.push(`<line x1="${dx + LEFT}" x2="${dx + W - RIGHT}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${dx + LEFT - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${short(t)}</text>`);
  }
  for (const v of xs) out.push(`<text x="${x(v).toFixed(1)}" y="${H - BOTTOM + 18}" text-anchor="middle" fill="#555">${v}</text>`);
  out.push(`<text x="${dx + (LEFT + W - RIGHT) / 2}" y="${H - BOTTOM + 36}" text-anchor="middle">claimers in flight</text>`);
  out.push(`<text transform="translate(${dx + 16} ${(TOP + H - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">claims/s</text>`);
  out.push(`<rect x="${dx + LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${H - TOP - BOTTOM}" fill="none" stroke="#999"/>`);
  p.series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      out.push(
        `<path d="${pts.map(([a, b], j) => `${j === 0 ? 'M' : 'L'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="${s.bold ? 3 : 2}"${dash}/>`,
      );
    }
    for (const [a, b] of pts)
      out.push(
        `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(s.name)}: ${Math.round(b).toLocaleString('en')} claims/s at ${a}</title></circle>`,
      );
    const ly = H - BOTTOM + 58 + i * 17;
    out.push(`<line x1="${dx + LEFT}" x2="${dx + LEFT + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${dx + LEFT + 30}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  return out;
}

export function chart(title: string, panels: readonly Panel[]): string {
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points));
  const xs = [...new Set(all.map(([v]) => v))].sort((a, b) => a - b);
  const ys = all.map(([, v]) => v).filter((v) => v > 0);
  const steps = logTicks(1, 1e9);
  const lo = [...steps].reverse().find((t) => t <= Math.min(...ys, 1000)) ?? 1;
  const hi = steps.find((t) => t >= Math.max(...ys, 10_000)) ?? 1e9;
  const width = W * Math.max(1, panels.length);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="16" font-size="13" fill="#333">${escapeXml(title)}</text>`,
    ...panels.flatMap((p, i) => panel(p, i * W, xs.length > 0 ? xs : [1], lo, hi)),
    '</svg>',
  ].join('\n');
}

/** The claim scenario's sweep: buildcoord against raw classic-level, sqlite and the in-memory coordinator. */
export function throughputChart(rows: readonly Row[], caption: string): string {
  const claim = rows.filter((r) => r.group === 'sweep' && r.scenario === 'claim');
  const points = (pick: (r: Row) => number | undefined, keep: (r: Row) => boolean): [number, number][] =>
    claim.filter(keep).flatMap((r) => {
      const v = pick(r);
      return v === undefined ? [] : [[r.concurrency, v] as [number, number]];
    });
  const panels: Panel[] = [];
  for (const durability of ['sync', 'buffered'] as const) {
    const ours = (r: Row) => r.target === 'buildcoord' && r.durability === durability;
    const series: Series[] = [
      { name: `buildcoord, ${durability}`, color: '#1f6fb4', bold: true, points: points((r) => r.claimedPerSecond, ours) },
      { name: `raw classic-level, same batches, ${durability}`, color: '#ff7f0e', dashed: true, points: points((r) => r.raw?.claimedPerSecond, ours) },
      {
        name: `better-sqlite3, synchronous=${durability === 'sync' ? 'FULL' : 'NORMAL'}`,
        color: '#d62728',
        points: points(
          (r) => r.claimedPerSecond,
          (r) => r.target === 'sqlite' && r.durability === durability,
        ),
      },
      {
        name: 'buildcoord, in-memory backend',
        color: '#9467bd',
        dashed: true,
        points: points(
          (r) => r.claimedPerSecond,
          (r) => r.target === 'memory',
        ),
      },
    ].filter((s) => s.points.length > 0);
    if (series.length > 0) panels.push({ title: durability === 'sync' ? 'sync (fsync before answering)' : 'buffered (no fsync)', series });
  }
  return chart(caption, panels);
}
