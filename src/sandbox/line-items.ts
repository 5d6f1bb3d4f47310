import { invalidParam, resourceMissing } from './errors.ts';
import {
  child,
  optionalInteger,
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredInteger,
  requiredString,
} from './params.ts';
import type { Params } from './params.ts';
import type { LineItem } from './types.ts';
import { randomId } from './util.ts';

/** One `line_items[i]` of a session: inline `price_data` only (the sandbox has no Price or Product objects). */
export function parseLineItem(raw: string | Params, index: number, created: number): LineItem {
  const path = child('line_items', index);
  const item = optionalObject(raw, path);
  if (item === undefined) throw invalidParam(path, 'Invalid object');
  rejectUnknown(
    item,
    ['price', 'price_data', 'quantity', 'adjustable_quantity', 'tax_rates', 'dynamic_tax_rates'],
    path,
  );
  const priceId = optionalString(item.price, child(path, 'price'));
  if (priceId !== undefined) throw resourceMissing('price', priceId, child(path, 'price'), 400);
  const pdPath = child(path, 'price_data');
  const priceData = optionalObject(item.price_data, pdPath);
  if (priceData === undefined) {
    throw invalidParam(path, 'You must specify either `price` or `price_data` for each line item.');
  }
  rejectUnknown(
    priceData,
    ['currency', 'unit_amount', 'unit_amount_decimal', 'product', 'product_data', 'tax_behavior', 'recurring'],
    pdPath,
  );
  if (priceData.recurring !== undefined) {
    throw invalidParam(
      child(pdPath, 'recurring'),
      'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
    );
  }
  const { currency, unitAmount, decimal } = parseUnitPrice(priceData, pdPath);
  const productId = optionalString(priceData.product, child(pdPath, 'product'));
  if (productId !== undefined) throw resourceMissing('product', productId, child(pdPath, 'product'), 400);
  const prodPath = child(pdPath, 'product_data');
  const productData = optionalObject(priceData.product_data, prodPath);
  if (productData === undefined) {
    throw invalidParam(pdPath, 'You must specify either `product` or `product_data` in `price_data`.');
  }
  rejectUnknown(productData, ['name', 'description', 'images', 'metadata', 'tax_code', 'unit_label'], prodPath);
  const name = requiredString(productData.name, child(prodPath, 'name'), 250);
  optionalString(productData.description, child(prodPath, 'description'));
  const quantity = requiredInteger(item.quantity, child(path, 'quantity'), 1, 999_999);
  const unit = unitAmount ?? Number(decimal);
  const total = Math.round(unit * quantity);
  if (!Number.isSafeInteger(total)) throw invalidParam(child(path, 'quantity'), 'The line item amount is too large.');
  return {
    id: randomId('li', 24),
    object: 'item',
    amount_discount: 0,
    amount_subtotal: total,
    amount_tax: 0,
    amount_total: total,
    currency,
    description: name,
    price: {
      id: randomId('price', 24),
      object: 'price',
      active: false,
      billing_scheme: 'per_unit',
      created,
      currency,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: randomId('prod', 14),
      recurring: null,
      tax_behavior: 'unspecified',
      type: 'one_time',
      unit_amount: Math.round(unit),
      unit_amount_decimal: decimal ?? String(unit),
    },
    quantity,
  };
}

/** `price_data`'s currency and unit amount (`unit_amount` or `unit_amount_decimal`, exactly one). */
function parseUnitPrice(
  priceData: Params,
  pdPath: string,
): { currency: string; unitAmount: number | undefined; decimal: string | undefined } {
  const currency = requiredString(priceData.currency, child(pdPath, 'currency')).toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalidParam(child(pdPath, 'currency'), `Invalid currency: ${currency}.`);
  const unitAmount = optionalInteger(priceData.unit_amount, child(pdPath, 'unit_amount'), 0, 99_999_999_999);
  const decimal = optionalString(priceData.unit_amount_decimal, child(pdPath, 'unit_amount_decimal'));
  if (unitAmount !== undefined && decimal !== undefined) {
    throw invalidParam(pdPath, 'You may only specify one of these parameters: unit_amount, unit_amount_decimal.');
  }
  if (decimal !== undefined && !/^\d{1,11}(\.\d{1,12})?$/.test(decimal)) {
    throw invalidParam(child(pdPath, 'unit_amount_decimal'), `Invalid decimal: ${decimal}`);
  }
  if (unitAmount === undefined && decimal === undefined) {
    throw invalidParam(
      pdPath,
      'You must specify either `unit_amount` or `unit_amount_decimal` in `price_data`.',
      'parameter_missing',
    );
  }
  return { currency, unitAmount, decimal };
}
