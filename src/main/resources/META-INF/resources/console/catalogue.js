// Turns a catalogue file into the body of POST /v1/batches: JSON (the body itself, or an array
// of items), NDJSON (optional first line {"batch": {...}}, then one item a line) or CSV (columns
// id,prompt plus any parameter column; metadata.* columns go into the item's metadata).

/** Parameter columns whose cells are numbers. */
const NUMERIC = new Set(['n', 'output_compression']);
/** Columns that hold lists, separated by | in a cell. */
const LISTS = new Set(['reference_images']);

export class CatalogueError extends Error {
  constructor(message, line) {
    super(line ? `line ${line}: ${message}` : message);
    this.line = line;
  }
}

/** Which format a file is, from its name and then its first character. */
export function formatOf(name, text) {
  const lower = (name || '').toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  if (lower.endsWith('.json')) {
    return looksLikeNdjson(text) ? 'ndjson' : 'json';
  }
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    return looksLikeNdjson(text) ? 'ndjson' : 'json';
  }
  return 'csv';
}

function looksLikeNdjson(text) {
  try {
    JSON.parse(text);
    return false;
  } catch {
    const lines = text.split(/\r?\n/).filter(l => l.trim());
    return lines.length > 1 && lines.every(l => l.trim().startsWith('{'));
  }
}

/** The request body and the format it was read from: {format, body}. */
export function parseCatalogue(name, text) {
  const clean = text.replace(/^\uFEFF/, '');
  const format = formatOf(name, clean);
  const body = format === 'json' ? fromJson(clean) : format === 'ndjson' ? fromNdjson(clean) : fromCsv(clean);
  if (!Array.isArray(body.items) || body.items.length === 0) {
    throw new CatalogueError('the file holds no items');
  }
  return { format, body };
}

function fromJson(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CatalogueError(`not valid JSON (${e.message})`);
  }
  if (Array.isArray(value)) {
    return { items: value };
  }
  if (value && typeof value === 'object') {
    return value;
  }
  throw new CatalogueError('a JSON catalogue is an object with items[] or an array of items');
}

function fromNdjson(text) {
  const body = { items: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim()) {
      return;
    }
    let value;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new CatalogueError(`not valid JSON (${e.message})`, i + 1);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new CatalogueError('each line is one JSON object', i + 1);
    }
    if (body.items.length === 0 && value.batch && typeof value.batch === 'object' && Object.keys(value).length === 1) {
      Object.assign(body, value.batch, { items: body.items });
    } else {
      body.items.push(value);
    }
  });
  return body;
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. Returns rows of cells. */
export function csvRows(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        cell += c;
      }
      i++;
      continue;
    }
    if (c === '"' && cell === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
    } else {
      cell += c;
    }
    i++;
  }
  if (quoted) {
    throw new CatalogueError('a quoted field is never closed');
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter(r => r.some(c => c.trim() !== ''));
}

function fromCsv(text) {
  const rows = csvRows(text);
  if (rows.length === 0) {
    throw new CatalogueError('the CSV file is empty');
  }
  const header = rows[0].map(c => c.trim());
  for (const required of ['id', 'prompt']) {
    if (!header.includes(required)) {
      throw new CatalogueError(`the CSV header needs an ${required} column (it has: ${header.join(', ')})`, 1);
    }
  }
  const items = rows.slice(1).map((cells, r) => {
    if (cells.length > header.length) {
      throw new CatalogueError(`${cells.length} cells for ${header.length} columns`, r + 2);
    }
    const item = {};
    header.forEach((column, c) => {
      const value = cells[c] ?? '';
      if (value === '' || column === '') {
        return;
      }
      if (column.startsWith('metadata.')) {
        item.metadata = item.metadata || {};
        item.metadata[column.slice('metadata.'.length)] = value;
      } else if (column === 'id' || column === 'prompt') {
        item[column] = value;
      } else if (LISTS.has(column)) {
        item[column] = value.split('|').map(v => v.trim()).filter(Boolean);
      } else if (NUMERIC.has(column) || /^-?\d+(\.\d+)?$/.test(value.trim()) && !/^0\d/.test(value.trim())) {
        const n = Number(value.trim());
        item[column] = Number.isFinite(n) ? n : value;
      } else {
        item[column] = value;
      }
    });
    return item;
  });
  return { items };
}

/** The row or line of the file that a field path such as items[3].size points at, for people. */
export function whereInFile(format, body, field) {
  const m = /^items\[(\d+)\]/.exec(field || '');
  if (!m) {
    return null;
  }
  const index = Number(m[1]);
  const item = body.items[index];
  const id = item && item.id !== undefined ? ` (id ${item.id})` : '';
  if (format === 'csv') {
    return `data row ${index + 1}${id}`;
  }
  return `item ${index + 1}${id}`;
}
