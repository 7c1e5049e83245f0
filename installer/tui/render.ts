// State -> the text of one screen. Pure. A dumb serial terminal understands only
// clear-screen and cursor-home, so every frame is the whole screen: CLEAR, then
// lines ended by CR LF (raw mode may leave output post-processing off).
import { brandOf, currentScreen, type TuiState } from './flow.ts';
import { focusables, newForm, renderFields, wrap, SCREEN_WIDTH } from './widgets.ts';

/** ESC [ H (cursor home) ESC [ 2 J (clear screen): the only control sequences written. */
export const CLEAR = '\x1b[H\x1b[2J';

const RULE = '-'.repeat(SCREEN_WIDTH);

function footer(s: TuiState): string {
  if (s.busy) return ' Please wait...';
  if (s.overlay) return ' <Enter> close';
  const spec = currentScreen(s);
  const parts = ['<Tab> next', '<Enter> OK'];
  if (spec.canGoBack) parts.push('<Esc> back');
  parts.push('<F1> help');
  if (s.step === 'welcome') parts.push('<F9> driver disk');
  if (s.step === 'guest-disks') parts.push('<Space> tick', '<F5> details');
  else if (spec.fields.some((f) => f.kind === 'list')) parts.push('or type a number');
  return ` ${parts.join('  ')}`;
}

/** The lines of the current screen, without CLEAR and line ends. */
export function screenLines(s: TuiState): string[] {
  const version = s.data.productVersion ? ` ${s.data.productVersion}` : '';
  const lines: string[] = [`${brandOf(s.data)}${version} Setup`, '='.repeat(SCREEN_WIDTH)];
  const spec = currentScreen(s);
  if (s.overlay) {
    lines.push(` ${s.overlay.title}`, '');
    for (const l of s.overlay.lines) lines.push(...wrap(l, SCREEN_WIDTH - 2).map((x) => ` ${x}`));
    lines.push('', '  [ OK ]');
  } else if (s.busy) {
    lines.push(` ${spec.title}`, '', ` ${s.busy}`);
    if (spec.after?.length) lines.push('', ...spec.after);
  } else {
    lines.push(` ${spec.title}`, '');
    for (const p of spec.body) {
      lines.push(...wrap(p, SCREEN_WIDTH - 2).map((x) => ` ${x}`));
      lines.push('');
    }
    const form = s.forms[s.step] ?? newForm({});
    const n = focusables(spec).length;
    lines.push(...renderFields(spec, { ...form, focus: Math.min(form.focus, Math.max(0, n - 1)) }));
    if (spec.after?.length) lines.push('', ...spec.after);
    if (form.error) lines.push('', ...wrap(`! ${form.error}`, SCREEN_WIDTH - 2).map((x) => ` ${x}`));
  }
  lines.push(RULE, footer(s));
  return lines.map((l) => l.trimEnd());
}

/** One frame as written to the terminal. */
export function renderFrame(s: TuiState): string {
  return CLEAR + screenLines(s).join('\r\n') + '\r\n';
}
