import { readFileSync } from 'node:fs';

/**
 * Mail templates (templates/<name>.txt and .html, in the repository). The .txt file's first line is
 * `Subject: …`. `{{var}}` is replaced by the value (HTML-escaped in the .html version); `{{{var}}}` is replaced
 * as it is, for blocks the composer already built with escaped values (the items table). The HTML version goes
 * inside templates/layout.html. Every template also gets `shopName` and `shopUrl`.
 */

export const templateNames = [
  'password-reset',
  'verify-email',
  'order-placed',
  'order-paid',
  'order-shipped',
  'order-refunded',
  'order-closed',
] as const;
export type TemplateName = (typeof templateNames)[number];

export interface Shop {
  /** SHOP_NAME */
  name: string;
  /** PUBLIC_URL, without a trailing slash. */
  url: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const dir = new URL('./templates/', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, dir), 'utf8');

interface Template {
  subject: string;
  text: string;
  html: string;
}

const layout = read('layout.html');
const templates = new Map<TemplateName, Template>(
  templateNames.map((name) => {
    const [first = '', ...rest] = read(`${name}.txt`).split('\n');
    if (!first.startsWith('Subject: ')) throw new Error(`mail template ${name}.txt must start with "Subject: "`);
    return [name, { subject: first.slice('Subject: '.length), text: rest.join('\n'), html: read(`${name}.html`) }];
  }),
);

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Replaces the placeholders; a placeholder without a value is an error (a template and its composer disagree). */
function fill(template: string, vars: Record<string, string>, html: boolean): string {
  return template.replace(/\{\{(\{?)(\w+)\}?\}\}/g, (_match, raw: string, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new Error(`mail template variable ${key} has no value`);
    return html && raw === '' ? escapeHtml(value) : value;
  });
}

export function renderMail(name: TemplateName, vars: Record<string, string>, shop: Shop): RenderedMail {
  const template = templates.get(name);
  if (template === undefined) throw new Error(`no mail template ${name}`);
  const all = { ...vars, shopName: shop.name, shopUrl: shop.url };
  const subject = fill(template.subject, all, false);
  const body = fill(template.html, all, true);
  return {
    subject,
    text: fill(template.text, all, false).trim() + '\n',
    html: fill(layout, { ...all, subject, body }, true),
  };
}
