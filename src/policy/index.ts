export { compilePolicies, type CompileOptions, type CompileResult, type PolicySource } from './compile.js';
export { runTestSuites, type CaseResult, type SuiteRun } from './test-suite.js';
export { decide, type DecideOptions } from './decide.js';
export { loadPolicyFolder, readPolicyFolder, type PolicyFolder } from './load.js';
export { formatDiagnostic, hasErrors, type Diagnostic } from '../lib/diagnostic.js';
export type { PolicySet, CompiledPolicy, CompiledRule } from './policy-set.js';
export { CEL_VARIABLES } from './cel-environment.js';
