/**
 * The layers of Countersign and who may import whom (docs/architecture.md tells the story; this file
 * is what `npm run lint` enforces). Paths are relative to the folder depcruise runs in, so the same
 * rules check src/ and the fixture trees of test/lint/boundaries.test.ts.
 *
 *   domain     pure rules: itself, canonicalize, and of node's builtins node:crypto only
 *   app        use cases and their ports: domain, log
 *   audit      chain, formats, verification, auditor access: domain, app ports (types), log, module-worker
 *   cards      card rendering from cards/*.json: domain, and the views the use cases return (app)
 *   teams      the bot (botbuilder): app, domain, cards, audit, log, retry-after
 *   http       the restify edge: teams (the activity handler), audit, app, domain, log, loopback
 *   azure      ARM: domain, app ports, telemetry, log, settings, retry-after
 *   store      SQLite and PostgreSQL: domain, audit, app ports, teams ports, log, settings, module-worker, output-file, loopback
 *   telemetry  OpenTelemetry: domain, app ports, log
 *   config     the YAML catalog and policies: domain, log, loopback
 *   sandbox    the local ARM stand-in: log, settings (nothing of the product it stands in for)
 *   cli        the offline commands: anything but teams and http (it never runs the bot); node-version.ts
 *   log: nothing of ours; settings/, module-worker.ts, compile-cache.ts, output-file.ts, retry-after.ts, node-version.ts: nothing but the log
 *   and loopback.ts; loopback.ts (what "this machine's loopback" is, one rule for all): nothing of ours at all
 *   Outside src/app, the use cases are reached through app/countersign.ts (the facade) and the ports;
 *   any other app module only for its types (the views the facade returns); the CLI runs
 *   app/accept-loss.ts, an offline use case, itself.
 *   And, whoever imports them: only teams imports botbuilder, only azure and sandbox @azure/*, only
 *   store the database drivers, only http restify; no cycles anywhere.
 *   composition-root.ts  builds and wires everything: exempt; only main.ts (the entry point) imports it
 *   wiring/    the composition root's parts (store, Azure, sweeps, stop...): only composition-root.ts imports them
 *   main.ts the entry point: exempt, and nothing imports it
 */

/** Everything a layer may import besides the listed folders: node builtins and itself. */
const ours = (...folders) => `^src/(${folders.join('|')})/`;
const npm = (...names) => `(^|/)node_modules/(${names.join('|')})/`;
const allowedOnlyFrom = (name, comment, packages, ...folders) => ({
  name,
  comment,
  severity: 'error',
  from: { path: '^src/', pathNot: [ours(...folders), '^src/(main|composition-root)\\.ts$'] },
  to: { path: npm(...packages) },
});

/** From `from`, nothing under `to`. */
const never = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

/**
 * One rule per layer: from that layer, anything under src/ outside the allowed folders is refused
 * (node builtins and npm packages are checked by the library rules below).
 */
const layer = (name, comment, from, allowed) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles hide which module is the lower one; the shared type belongs lower down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    never('no-main-import', 'src/main.ts is the entry point: nothing imports it.', '^src/', '^src/main\\.ts$'),
    {
      name: 'no-composition-root-import',
      comment: 'src/composition-root.ts builds everything: only the entry point (src/main.ts) starts it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/composition-root\\.ts$' },
    },
    {
      name: 'wiring-only-from-composition-root',
      comment: 'src/wiring holds the parts of the composition root (the store, Azure, the sweeps, the stop...): only src/composition-root.ts and they import it, so there is still one composition root.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/composition-root\\.ts$', '^src/wiring/'] },
      to: { path: '^src/wiring/' },
    },
    {
      name: 'domain-is-pure',
      comment:
        'src/domain holds the approval rules: it imports only itself, node builtins and the pure libraries listed here ' +
        '(canonicalize: RFC 8785 JSON, no I/O, no framework).',
      severity: 'error',
      from: { path: ours('domain') },
      to: { pathNot: [ours('domain'), npm('canonicalize')], dependencyTypesNot: ['core'] },
    },
    {
      name: 'domain-does-no-io',
      comment: 'Of the node builtins, src/domain uses node:crypto (hashes) only: no file, process or network I/O in the rules.',
      severity: 'error',
      from: { path: ours('domain') },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    layer('app-imports-domain-and-log', 'src/app (use cases and their ports) imports only src/domain and src/log.', ours('app'), [
      ours('app', 'domain', 'log'),
    ]),
    {
      name: 'app-imports-no-packages',
      comment: 'The use cases reach files, frameworks and telemetry through their ports only: src/app imports no npm package.',
      severity: 'error',
      from: { path: ours('app') },
      to: { path: '(^|/)node_modules/' },
    },
    {
      name: 'app-does-no-io',
      comment: 'Of the node builtins, src/app uses node:crypto (ids, hashes), node:os (the instance name), node:timers/promises (waits) and node:async_hooks (a turn\'s deadline, carried across its awaits) only: files, network and processes are the adapters\'.',
      severity: 'error',
      from: { path: ours('app') },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(crypto|os|timers/promises|async_hooks)$' },
    },
    layer(
      'audit-imports-below-it',
      'src/audit imports src/domain, the app ports (types), src/log and the module worker; an evidence bundle\'s cards are rendered by a renderer handed in (the CLI passes src/cards).',
      ours('audit'),
      [ours('audit', 'domain', 'log'), '^src/app/ports\\.ts$', '^src/module-worker\\.ts$'],
    ),
    // Inside src/audit, four floors: chain (sealing, and what a record's text must be), formats (the
    // encoders and readers of JSON Lines, CSV, OCSF), access (exports, links, keys, manifests,
    // checkpoints, evidence), verify (the chain and exports checked). Each imports only floors below it.
    layer('audit-chain-is-the-floor', 'src/audit/chain imports nothing else of src/audit.', '^src/audit/chain/', [ours('audit/chain', 'domain', 'log')]),
    never('audit-formats-below-access-and-verify', 'src/audit/formats (encoders and readers) imports neither src/audit/access nor src/audit/verify.', '^src/audit/formats/', '^src/audit/(access|verify)/'),
    never('audit-access-below-verify', 'src/audit/access (exports, keys, manifests, checkpoints) does not import src/audit/verify.', '^src/audit/access/', '^src/audit/verify/'),
    layer('cards-imports-domain-and-app-views', 'src/cards renders cards from cards/*.json: it imports src/domain and the views the use cases return (src/app), nothing of the adapters.', ours('cards'), [ours('cards', 'domain', 'app')]),
    layer('log-imports-nothing-of-ours', 'src/log is the lowest layer after domain: every layer may log.', ours('log'), [ours('log')]),
    layer('teams-imports-below-it', 'src/teams (the bot) imports src/app, src/domain, src/cards, src/audit, src/log and the Retry-After reader.', ours('teams'), [
      ours('teams', 'app', 'domain', 'cards', 'audit', 'log'),
      '^src/retry-after\\.ts$',
    ]),
    layer('http-imports-below-it', 'src/http (the restify edge) imports src/teams, src/audit, src/app, src/domain, src/log and the loopback rule.', ours('http'), [
      ours('http', 'teams', 'audit', 'app', 'domain', 'log'),
      '^src/loopback\\.ts$',
    ]),
    layer('azure-imports-below-it', 'src/azure (ARM) imports src/domain, the app ports, src/telemetry, src/log, settings and the Retry-After reader.', ours('azure'), [
      ours('azure', 'domain', 'telemetry', 'log'),
      '^src/app/ports\\.ts$',
      '^src/retry-after\\.ts$',
      ours('settings'),
    ]),
    layer('store-imports-below-it', 'src/store imports src/domain, src/audit (chain, verification), the app and teams ports, src/log, settings, the module worker, the output-file helpers (backups) and the loopback rule (a database off this machine without TLS is warned of).', ours('store'), [
      ours('store', 'domain', 'audit', 'log'),
      '^src/(app|teams)/ports\\.ts$',
      '^src/(module-worker|output-file|loopback)\\.ts$',
      ours('settings'),
    ]),
    layer('telemetry-imports-below-it', 'src/telemetry imports src/domain, the app ports and src/log.', ours('telemetry'), [ours('telemetry', 'domain', 'log'), '^src/app/ports\\.ts$']),
    layer('config-imports-domain-and-log', 'src/config (the YAML catalog and policies) imports src/domain, src/log and the loopback rule.', ours('config'), [
      ours('config', 'domain', 'log'),
      '^src/loopback\\.ts$',
    ]),
    layer('sandbox-imports-nothing-of-the-product', 'src/sandbox stands in for ARM: it imports src/log and settings, nothing of the product.', ours('sandbox'), [ours('sandbox', 'log', 'settings')]),
    layer('cli-imports-no-edge', 'src/cli works offline: anything but src/teams and src/http (it never runs the bot).', ours('cli'), [
      ours('cli', 'domain', 'app', 'audit', 'store', 'config', 'azure', 'sandbox', 'cards', 'telemetry', 'log'),
      '^src/(output-file|node-version)\\.ts$',
      ours('settings'),
    ]),
    layer('leaf-modules-import-nothing-of-ours', 'src/settings/, src/module-worker.ts, src/compile-cache.ts, src/output-file.ts, src/retry-after.ts and src/node-version.ts are imported by all and import nothing of ours but the log, the loopback rule (settings checks addresses with it) and, for settings, itself.', '^src/((module-worker|compile-cache|output-file|retry-after|node-version)\\.ts$|settings/)', [ours('log', 'settings'), '^src/loopback\\.ts$']),
    layer('loopback-imports-nothing-of-ours', 'src/loopback.ts (what "this machine\'s loopback" is, for settings, config and the HTTP edge) is a pure rule below every layer: it imports nothing of ours.', '^src/loopback\\.ts$', []),
    {
      name: 'app-through-its-facade',
      comment:
        'Outside src/app, the use cases are reached through src/app/countersign.ts and the ports; another app module may be imported for its types only (a view the facade returns).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(app|cli)/', '^src/(main|composition-root)\\.ts$'] },
      to: { path: '^src/app/', pathNot: '^src/app/(countersign|ports)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-through-the-facade-or-accept-loss',
      comment: 'The CLI runs one use case itself, accept-loss (offline, no bot); any other app module for its types only.',
      severity: 'error',
      from: { path: ours('cli') },
      to: { path: '^src/app/', pathNot: '^src/app/(countersign|ports|accept-loss)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    allowedOnlyFrom(
      'botbuilder-only-in-teams',
      'Only src/teams talks to the Bot Framework; it exports the activity handler the HTTP edge calls.',
      ['botbuilder', 'botbuilder-[^/]+', 'botframework-[^/]+'],
      'teams',
    ),
    allowedOnlyFrom(
      'azure-sdk-only-in-azure-and-sandbox',
      'Only src/azure and the ARM sandbox import the Azure SDKs; a store needing a token receives a token provider built there.',
      ['@azure/[^/]+'],
      'azure',
      'sandbox',
    ),
    allowedOnlyFrom('database-drivers-only-in-store', 'Only src/store imports database drivers.', ['better-sqlite3', 'pg', 'pg-[^/]+'], 'store'),
    allowedOnlyFrom('restify-only-in-http', 'Only the HTTP edge (src/http) imports restify.', ['restify', 'restify-[^/]+'], 'http'),
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports count: a port's types travel upward as surely as its values do.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
