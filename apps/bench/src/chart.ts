/** A dependency-free SVG of horizontal bar panels: one panel per figure, each on its own scale. */
export interface Bar {
  label: string;
  value: number;
  series: 'duplex' | 'amqp' | 'socketio';
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
}

const COLORS: Record<Bar['series'], string> = { duplex: '#2b6cb0', amqp: '#dd6b20', socketio: '#718096' };
const WIDTH = 720;
const LABEL = 210;
const BAR = 16;
const GAP = 5;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(title: string, panels: Panel[]): string {
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`);
  for (const panel of panels) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    y += 8;
    const max = Math.max(...panel.bars.map((bar) => bar.value), 1e-9);
    for (const bar of panel.bars) {
      const width = Math.max(1, ((WIDTH - LABEL - 90) * bar.value) / max);
      parts.push(
        `<text x="${LABEL - 6}" y="${y + BAR - 4}" font-size="11" text-anchor="end">${escape(bar.label)}</text>`,
        `<rect x="${LABEL}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" fill="${COLORS[bar.series]}"/>`,
        `<text x="${(LABEL + width + 5).toFixed(1)}" y="${y + BAR - 4}" font-size="11">${bar.value.toLocaleString('en-US')}</text>`,
      );
      y += BAR + GAP;
    }
  }
  y += 10;
  const legend = (['duplex', 'amqp', 'socketio'] as const).map((series, i) => {
    const names = { duplex: 'nest-duplex', amqp: 'raw amqplib', socketio: 'Socket.IO (+ Redis adapter)' };
    return `<rect x="${10 + i * 200}" y="${y}" width="12" height="12" fill="${COLORS[series]}"/><text x="${26 + i * 200}" y="${y + 10}" font-size="11">${names[series]}</text>`;
  });
  parts.push(...legend);
  y += 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
