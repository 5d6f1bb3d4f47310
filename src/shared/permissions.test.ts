import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../db/schema.ts';
import { AppError } from './errors.ts';
import { can, permissions, requirePermission, roles, type Permission } from './permissions.ts';

// docs/api.md's table, written out by hand: the code's table must agree with the contract cell by cell.
const contract: Record<Permission, Record<Role, boolean>> = {
  own_orders: { customer: true, support: true, admin: true },
  read_all: { customer: false, support: true, admin: true },
  products_write: { customer: false, support: false, admin: true },
  ship: { customer: false, support: false, admin: true },
  deliver: { customer: false, support: false, admin: true },
  cancel_paid_order: { customer: false, support: false, admin: true },
  refund: { customer: false, support: false, admin: true },
  retry_webhook_events: { customer: false, support: false, admin: true },
  change_roles: { customer: false, support: false, admin: true },
  disable_accounts: { customer: false, support: false, admin: true },
  delete_accounts: { customer: false, support: false, admin: true },
  read_mail: { customer: false, support: false, admin: true },
};

describe('the permission table', () => {
  it('covers exactly the permissions of docs/api.md', () => {
    assert.deepEqual(Object.keys(permissions).sort(), Object.keys(contract).sort());
  });

  for (const permission of Object.keys(contract) as Permission[]) {
    for (const role of roles) {
      const allowed = contract[permission][role];
      it(`${role} ${allowed ? 'may' : 'may not'} ${permission}`, () => {
        const actor = { id: 'usr_x', role };
        assert.equal(can(actor, permission), allowed);
        if (allowed) requirePermission(actor, permission);
        else
          assert.throws(
            () => requirePermission(actor, permission),
            (e: unknown) => e instanceof AppError && e.kind === 'forbidden' && e.code === 'forbidden',
          );
      });
    }
  }
});
