/**
 * Escaping for HTML the service writes by hand (letters, the code card, the web views): every
 * interpolated string goes through `escapeHtml`, in text and in double- or single-quoted attributes.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}
