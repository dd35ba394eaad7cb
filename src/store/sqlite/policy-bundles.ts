import type { PolicyBundleRecord } from '../records.js';
import type { PolicyBundleStore } from '../ports.js';
import { bundleParams, toBundle } from './rows.js';
import { clampLimit, type BundleStatements } from './statements.js';

export class SqlitePolicyBundles implements PolicyBundleStore {
  constructor(private readonly s: BundleStatements) {}

  async recordPolicyBundle(record: PolicyBundleRecord): Promise<void> {
    this.s.insertBundle.run(bundleParams(record));
  }

  async listPolicyBundles(limit: number): Promise<PolicyBundleRecord[]> {
    return this.s.listBundles.all(clampLimit(limit)).map(toBundle);
  }
}
