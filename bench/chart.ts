/** An SVG line chart of claims/s against claimers in flight (log scale), with baselines as flat lines. */

export interface Series {
  name: string;
  color: string;
  points: [number, number][]; // [concurrency, claims/s]
  dashed?: boolean;
}

export function chart(title: string, series: Series[]): string {
  const W = 800, H = 420, left = 70, right = 230, top = 40, bottom = 50;
  const xs = [...new Set(series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  const maxY = Math.max(...series.flatMap((s) => s.points.map(([, y]) => y))) * 1.1 || 1;
  const lx = (x: number) => left + ((Math.log2(x) - Math.log2(xs[0]!)) / Math.max(1, Math.log2(xs[xs.length - 1]!) - Math.log2(xs[0]!))) * (W - left - right);
  const ly = (y: number) => H - bottom - (y / maxY) * (H - top - bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = (maxY / 5) * i;
    out.push(`<line x1="${left}" x2="${W - right}" y1="${ly(y)}" y2="${ly(y)}" stroke="#ddd"/>`, `<text x="${left - 8}" y="${ly(y) + 4}" text-anchor="end">${Math.round(y).toLocaleString('en')}</text>`);
  }
  for (const x of xs) out.push(`<text x="${lx(x)}" y="${H - bottom + 18}" text-anchor="middle">${x}</text>`);
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 10}" text-anchor="middle">claimers in flight</text>`);
  out.push(`<text transform="translate(16 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">claims/s</text>`);
  series.forEach((s, i) => {
    const points = s.points.length === 1 ? [[xs[0]!, s.points[0]![1]], [xs[xs.length - 1]!, s.points[0]![1]]] : s.points;
    const path = points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${lx(x!).toFixed(1)},${ly(y!).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (!s.dashed) for (const [x, y] of points) out.push(`<circle cx="${lx(x!)}" cy="${ly(y!)}" r="3" fill="${s.color}"/>`);
    out.push(`<line x1="${W - right + 15}" x2="${W - right + 40}" y1="${top + 10 + i * 20}" y2="${top + 10 + i * 20}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - right + 46}" y="${top + 14 + i * 20}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
