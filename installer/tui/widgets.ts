// A screen of the text UI as data: a title, body text, fields (list, check list,
// text entry, choice, check box, scrolling text) and buttons, plus the pure key
// handling and text rendering of those fields. Nothing here knows the installer;
// screens.ts builds ScreenSpecs from the installer's state.
//
// Keys: Tab / Shift-Tab move between fields and buttons; Up/Down move in a list
// (elsewhere they move between fields); Space toggles; Enter presses the focused
// button, or the screen's first button when a field has the focus. Every choice can
// also be typed: a number picks a list item / choice option, a letter jumps to the
// next list item starting with it.
import type { Key } from './keys.ts';

export interface ListItem {
  /** what the installer records */
  key: string;
  /** what the user sees */
  label: string;
}

export type FieldSpec =
  | { kind: 'list'; id: string; label?: string; items: ListItem[]; height?: number }
  | { kind: 'checklist'; id: string; label?: string; items: ListItem[]; height?: number }
  | { kind: 'text'; id: string; label: string; masked?: boolean }
  | { kind: 'choice'; id: string; label: string; options: ListItem[] }
  | { kind: 'checkbox'; id: string; label: string }
  | { kind: 'pager'; id: string; lines: string[]; height: number };

export interface ButtonSpec {
  id: string;
  label: string;
}

export interface ScreenSpec {
  title: string;
  /** paragraphs, wrapped to the screen width */
  body: string[];
  fields: FieldSpec[];
  buttons: ButtonSpec[];
  /** F1 text */
  help: string[];
  /** Esc and Back go to the previous screen */
  canGoBack: boolean;
  /** fixed text after the fields (not wrapped), e.g. a plan summary */
  after?: string[];
}

/**
 * Field values by field id: list -> selected index; checklist -> checked keys (and
 * `<id>.cursor`); text -> string; choice -> option key; checkbox -> boolean;
 * pager -> `<id>.top` (first line shown).
 */
export type FormValues = Record<string, string | number | boolean | string[]>;

export interface FormState {
  values: FormValues;
  /** index into focusables(spec) */
  focus: number;
  /** what was typed so far in a list: digits pick an item by number, letters by the start of its label */
  typed: string;
  /** the last validation error, shown under the buttons */
  error?: string;
}

export type Focusable = { type: 'field'; field: FieldSpec } | { type: 'button'; button: ButtonSpec };

export const SCREEN_WIDTH = 80;
export const DEFAULT_LIST_HEIGHT = 10;

export function focusables(spec: ScreenSpec): Focusable[] {
  return [
    ...spec.fields.filter((f) => f.kind !== 'pager').map((field) => ({ type: 'field' as const, field })),
    ...spec.buttons.map((button) => ({ type: 'button' as const, button })),
  ];
}

export function newForm(values: FormValues): FormState {
  return { values, focus: 0, typed: '' };
}

/** What a key did to a form: the new form, and a button pressed (by id) if one was. */
export interface FormResult {
  form: FormState;
  pressed?: string;
}

function listHeight(f: { items: ListItem[]; height?: number }): number {
  return Math.min(f.items.length, f.height ?? DEFAULT_LIST_HEIGHT);
}

/** Typing digits: the number so far when it names an item, else a fresh start with this digit. */
function pickByNumber(typed: string, d: string, count: number): { typed: string; index?: number } {
  for (const candidate of [/^\d+$/.test(typed) ? typed + d : d, d]) {
    const n = Number(candidate);
    if (n >= 1 && n <= count) return { typed: candidate, index: n - 1 };
  }
  return { typed: '' };
}

/**
 * Typing letters: the first letter jumps to the next item starting with it (again
 * and again, as the seed describes); more letters narrow it to the first item, from
 * the current one on, starting with all of them ("Lon" -> London).
 */
function pickByPrefix(items: ListItem[], cur: number, typed: string, c: string): { typed: string; index?: number } {
  if (typed && !/^\d+$/.test(typed)) {
    const prefix = (typed + c).toLowerCase();
    for (let step = 0; step < items.length; step++) {
      const i = (cur + step) % items.length;
      if (items[i]!.label.trimStart().toLowerCase().startsWith(prefix)) return { typed: typed + c, index: i };
    }
  }
  const j = jumpToLetter(items, cur, c);
  return j === undefined ? { typed: '' } : { typed: c, index: j };
}

/** The next item after `from` (wrapping) whose label starts with `c`, ignoring case. */
function jumpToLetter(items: ListItem[], from: number, c: string): number | undefined {
  const lc = c.toLowerCase();
  for (let step = 1; step <= items.length; step++) {
    const i = (from + step) % items.length;
    if (items[i]!.label.trimStart().toLowerCase().startsWith(lc)) return i;
  }
  return undefined;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}

function withValue(form: FormState, id: string, v: FormValues[string], typed = ''): FormState {
  return { ...form, values: { ...form.values, [id]: v }, typed, error: undefined };
}

function moveFocus(form: FormState, spec: ScreenSpec, by: number): FormState {
  const n = focusables(spec).length;
  if (n === 0) return form;
  return { ...form, focus: (((form.focus + by) % n) + n) % n, typed: '' };
}

/** Scroll every pager on the screen (they take PgUp/PgDn wherever the focus is). */
function scrollPagers(form: FormState, spec: ScreenSpec, k: Key): FormState | undefined {
  if (k.kind !== 'key') return undefined;
  const pager = spec.fields.find((f): f is Extract<FieldSpec, { kind: 'pager' }> => f.kind === 'pager');
  if (!pager) return undefined;
  const top = Number(form.values[`${pager.id}.top`] ?? 0);
  const max = Math.max(0, pager.lines.length - pager.height);
  const page = Math.max(1, pager.height - 1);
  const moves: Partial<Record<string, number>> = { pageup: -page, pagedown: page, home: -Infinity, end: Infinity };
  // with a button focused, Up/Down scroll the text too (there is nothing else for them to do)
  if (focusables(spec)[form.focus]?.type === 'button') Object.assign(moves, { up: -1, down: 1 });
  const by = moves[k.name];
  if (by === undefined) return undefined;
  return withValue(form, `${pager.id}.top`, clamp(top + by, 0, max));
}

/** Apply one key to a form. Pure. */
export function formKey(spec: ScreenSpec, form: FormState, k: Key): FormResult {
  const all = focusables(spec);
  const focused = all[clamp(form.focus, 0, Math.max(0, all.length - 1))];
  const firstButton = spec.buttons[0]?.id;

  const scrolled = scrollPagers(form, spec, k);
  if (scrolled) return { form: scrolled };

  if (k.kind === 'key') {
    if (k.name === 'tab') return { form: moveFocus(form, spec, 1) };
    if (k.name === 'backtab') return { form: moveFocus(form, spec, -1) };
  }
  if (!focused) return { form };

  if (focused.type === 'button') {
    if (k.kind === 'key' && k.name === 'enter') return { form, pressed: focused.button.id };
    if (k.kind === 'char' && k.char === ' ') return { form, pressed: focused.button.id };
    if (k.kind === 'key' && (k.name === 'left' || k.name === 'up')) return { form: moveFocus(form, spec, -1) };
    if (k.kind === 'key' && (k.name === 'right' || k.name === 'down')) return { form: moveFocus(form, spec, 1) };
    return { form };
  }

  const f = focused.field;
  if (k.kind === 'key' && k.name === 'enter') return { form, ...(firstButton !== undefined && { pressed: firstButton }) };

  switch (f.kind) {
    case 'list':
    case 'checklist': {
      const idKey = f.kind === 'list' ? f.id : `${f.id}.cursor`;
      const cur = clamp(Number(form.values[idKey] ?? 0), 0, Math.max(0, f.items.length - 1));
      const h = listHeight(f);
      if (k.kind === 'key') {
        const moves: Partial<Record<string, number>> = { up: -1, down: 1, pageup: -h, pagedown: h, home: -Infinity, end: Infinity };
        const by = moves[k.name];
        if (by !== undefined && f.items.length) {
          // Up on the first item / Down on the last leave the list, as Tab does
          if ((by === -1 && cur === 0) || (by === 1 && cur === f.items.length - 1)) return { form: moveFocus(form, spec, by) };
          return { form: withValue(form, idKey, clamp(cur + by, 0, f.items.length - 1)) };
        }
        return { form };
      }
      if (f.kind === 'checklist' && k.char === ' ') {
        const item = f.items[cur];
        if (!item) return { form };
        const checked = new Set((form.values[f.id] as string[] | undefined) ?? []);
        if (checked.has(item.key)) checked.delete(item.key);
        else checked.add(item.key);
        // keep the items' order, whatever order they were ticked in
        return { form: withValue(form, f.id, f.items.filter((i) => checked.has(i.key)).map((i) => i.key)) };
      }
      const p = /^[0-9]$/.test(k.char) ? pickByNumber(form.typed, k.char, f.items.length) : pickByPrefix(f.items, cur, form.typed, k.char);
      if (p.index === undefined) return { form: { ...form, typed: '' } };
      return { form: withValue(form, idKey, p.index, p.typed) };
    }
    case 'text': {
      const v = String(form.values[f.id] ?? '');
      if (k.kind === 'char') return { form: withValue(form, f.id, v + k.char) };
      if (k.name === 'backspace') return { form: withValue(form, f.id, [...v].slice(0, -1).join('')) };
      if (k.name === 'up') return { form: moveFocus(form, spec, -1) };
      if (k.name === 'down') return { form: moveFocus(form, spec, 1) };
      return { form };
    }
    case 'choice': {
      const i = Math.max(0, f.options.findIndex((o) => o.key === form.values[f.id]));
      if (k.kind === 'char' && /^[1-9]$/.test(k.char)) {
        const o = f.options[Number(k.char) - 1];
        return { form: o ? withValue(form, f.id, o.key) : form };
      }
      if ((k.kind === 'char' && k.char === ' ') || (k.kind === 'key' && k.name === 'right')) {
        return { form: withValue(form, f.id, f.options[(i + 1) % f.options.length]!.key) };
      }
      if (k.kind === 'key' && k.name === 'left') {
        return { form: withValue(form, f.id, f.options[(i - 1 + f.options.length) % f.options.length]!.key) };
      }
      if (k.kind === 'key' && k.name === 'up') return { form: moveFocus(form, spec, -1) };
      if (k.kind === 'key' && k.name === 'down') return { form: moveFocus(form, spec, 1) };
      return { form };
    }
    case 'checkbox': {
      if (k.kind === 'char' && (k.char === ' ' || k.char.toLowerCase() === 'x')) return { form: withValue(form, f.id, form.values[f.id] !== true) };
      if (k.kind === 'key' && k.name === 'up') return { form: moveFocus(form, spec, -1) };
      if (k.kind === 'key' && k.name === 'down') return { form: moveFocus(form, spec, 1) };
      return { form };
    }
    default:
      return { form };
  }
}

/** Word-wrap `text` (which may hold newlines) to `width` columns. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    if (para.trim() === '') {
      out.push('');
      continue;
    }
    // a line that fits keeps its spacing (aligned columns)
    if (para.length <= width) {
      out.push(para);
      continue;
    }
    const indent = /^\s*/.exec(para)![0];
    let line = '';
    for (const word of para.trim().split(/\s+/)) {
      if (line && (indent + line + ' ' + word).length > width) {
        out.push(indent + line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
      while ((indent + line).length > width) {
        out.push((indent + line).slice(0, width));
        line = (indent + line).slice(width);
      }
    }
    out.push(indent + line);
  }
  return out;
}

function renderList(f: Extract<FieldSpec, { kind: 'list' | 'checklist' }>, form: FormState, focused: boolean): string[] {
  const lines: string[] = [];
  if (f.label) lines.push(` ${f.label}`);
  if (f.items.length === 0) return [...lines, '   (none)'];
  const cursor = clamp(Number(form.values[f.kind === 'list' ? f.id : `${f.id}.cursor`] ?? 0), 0, f.items.length - 1);
  const h = listHeight(f);
  const top = clamp(cursor - Math.floor(h / 2), 0, f.items.length - h);
  const checked = f.kind === 'checklist' ? new Set((form.values[f.id] as string[] | undefined) ?? []) : undefined;
  const numWidth = String(f.items.length).length;
  if (top > 0) lines.push(`     ... ${top} more above`);
  for (let i = top; i < top + h; i++) {
    const mark = i === cursor ? (focused ? '>' : '*') : ' ';
    const box = checked ? (checked.has(f.items[i]!.key) ? '[x] ' : '[ ] ') : '';
    lines.push(` ${mark} ${String(i + 1).padStart(numWidth)}) ${box}${f.items[i]!.label}`);
  }
  const below = f.items.length - top - h;
  if (below > 0) lines.push(`     ... ${below} more below`);
  return lines;
}

/** The lines of a form's fields and buttons (no title, body or frame). */
export function renderFields(spec: ScreenSpec, form: FormState): string[] {
  const all = focusables(spec);
  const focusedItem = all[form.focus];
  const isFocused = (f: FieldSpec) => focusedItem?.type === 'field' && focusedItem.field === f;
  const lines: string[] = [];
  for (const f of spec.fields) {
    const mark = isFocused(f) ? '>' : ' ';
    switch (f.kind) {
      case 'list':
      case 'checklist':
        lines.push(...renderList(f, form, isFocused(f)));
        break;
      case 'text': {
        const v = String(form.values[f.id] ?? '');
        const shown = f.masked ? '*'.repeat([...v].length) : v;
        lines.push(` ${mark} ${f.label} [${shown}${isFocused(f) ? '_' : ''}]`);
        break;
      }
      case 'choice': {
        const opts = f.options.map((o, i) => `(${form.values[f.id] === o.key ? '*' : ' '}) ${i + 1}. ${o.label}`);
        lines.push(` ${mark} ${f.label}`);
        for (const o of opts) lines.push(`     ${o}`);
        break;
      }
      case 'checkbox':
        lines.push(` ${mark} [${form.values[f.id] === true ? 'x' : ' '}] ${f.label}`);
        break;
      case 'pager': {
        const top = Number(form.values[`${f.id}.top`] ?? 0);
        const shown = f.lines.slice(top, top + f.height);
        lines.push(...shown.map((l) => `   ${l}`));
        for (let i = shown.length; i < Math.min(f.height, f.lines.length); i++) lines.push('');
        if (f.lines.length > f.height) {
          lines.push(`   -- lines ${top + 1}-${top + shown.length} of ${f.lines.length} (PgUp/PgDn to scroll) --`);
        }
        break;
      }
    }
  }
  if (spec.buttons.length) {
    lines.push('');
    lines.push('  ' + spec.buttons.map((b) => (focusedItem?.type === 'button' && focusedItem.button === b ? `[ ${b.label} ]` : `< ${b.label} >`)).join('  '));
  }
  return lines;
}
