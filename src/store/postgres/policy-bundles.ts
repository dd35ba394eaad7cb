import type { PolicyBundleRecord } from '../records.js';
import type { PolicyBundleStore } from '../ports.js';
import { BUNDLE_COLUMNS, bundleParams, clampLimit, insertOf, toBundle, type BundleRow } from './rows.js';
import type { Sql } from './sql.js';

export class PostgresPolicyBundles implements PolicyBundleStore {
  constructor(private readonly sql: Sql) {}

  async recordPolicyBundle(record: PolicyBundleRecord): Promise<void> {
    const { text, values } = insertOf('policy_bundles', BUNDLE_COLUMNS, bundleParams(record));
    await this.sql.run(text, values);
  }

  async listPolicyBundles(limit: number): Promise<PolicyBundleRecord[]> {
    return (await this.sql.rows<BundleRow>('SELECT bundle, loaded_at, policies FROM policy_bundles ORDER BY loaded_at DESC, id DESC LIMIT $1', [clampLimit(limit)])).map(toBundle);
  }
}
