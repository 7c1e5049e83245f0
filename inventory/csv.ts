// RFC 4180 CSV with the position of every cell, so inventory errors can name
// line and column. Pure.

export interface CsvCell {
  text: string;
  /** 1-based line and column of the cell's first character (its opening quote, when quoted). */
  line: number;
  column: number;
}

export interface CsvRow {
  line: number;
  cells: CsvCell[];
}

export interface CsvSyntaxError {
  line: number;
  column: number;
  message: string;
}

/**
 * Splits `text` into rows of cells. Fields are separated by commas; a field in
 * double quotes may hold commas, line breaks and `""` (a quote). Blank lines and
 * lines starting with `#` are skipped. A byte-order mark is ignored.
 */
export function parseCsv(text: string): { rows: CsvRow[]; errors: CsvSyntaxError[] } {
  const rows: CsvRow[] = [];
  const errors: CsvSyntaxError[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  const n = text.length;

  const atLineEnd = (k: number) => k >= n || text[k] === '\n' || text[k] === '\r';
  const skipLineEnd = () => {
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else i += 1;
    line++;
    lineStart = i;
  };

  while (i < n) {
    // A blank or comment line is not a row.
    if (atLineEnd(i) || text[i] === '#') {
      while (!atLineEnd(i)) i++;
      if (i < n) skipLineEnd();
      continue;
    }
    const row: CsvRow = { line, cells: [] };
    for (;;) {
      const cell: CsvCell = { text: '', line, column: i - lineStart + 1 };
      if (text[i] === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { cell.text += '"'; i += 2; continue; }
            i++;
            closed = true;
            break;
          }
          if (c === '\r' || c === '\n') {
            cell.text += '\n';
            skipLineEnd();
            continue;
          }
          cell.text += c;
          i++;
        }
        if (!closed) {
          errors.push({ line: cell.line, column: cell.column, message: 'a quoted field is not closed (a " is missing)' });
          row.cells.push(cell);
          rows.push(row);
          return { rows, errors };
        }
        if (!atLineEnd(i) && text[i] !== ',') {
          errors.push({ line, column: i - lineStart + 1, message: 'text after a closing quote; write "" for a quote inside a quoted field' });
          while (!atLineEnd(i) && text[i] !== ',') i++;
        }
      } else {
        const start = i;
        while (!atLineEnd(i) && text[i] !== ',') i++;
        cell.text = text.slice(start, i);
      }
      row.cells.push(cell);
      if (text[i] === ',') { i++; continue; }
      break;
    }
    rows.push(row);
    if (i < n) skipLineEnd();
  }
  return { rows, errors };
}
