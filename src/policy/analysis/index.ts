export { analyzePolicies, unreadableArgumentDiagnostics, unreadableArguments, type AnalysisInput } from './analyze.js';
export { ruleCoverage, type CoverageReport, type PolicyCoverage, type RuleCoverage, type DecidedCase } from './coverage.js';
export { formatFinding, sortFindings, type Finding, type FindingCode, type Severity } from './finding.js';
export type { ToolCatalog, ToolInfo } from './tool-catalog.js';
