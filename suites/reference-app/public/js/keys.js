// TV remotes send different keys per platform; everything is folded into six actions.
const BACK_CODES = new Set([10009, 461, 8]);

export function keyAction(event) {
  switch (event.key) {
    case 'ArrowLeft':
      return 'left';
    case 'ArrowRight':
      return 'right';
    case 'ArrowUp':
      return 'up';
    case 'ArrowDown':
      return 'down';
    case 'Enter':
      return 'enter';
    case 'Escape':
    case 'GoBack':
    case 'BrowserBack':
      return 'back';
    case 'Backspace':
      return isTextField(event.target) ? null : 'back';
    default:
      return BACK_CODES.has(event.keyCode) && !isTextField(event.target) ? 'back' : null;
  }
}

export function isTextField(el) {
  return el instanceof HTMLInputElement && (el.type === 'search' || el.type === 'text');
}
