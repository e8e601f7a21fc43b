/**
 * The layers of Countersign and who may import whom (docs/architecture.md tells the story; this file
 * is what `npm run lint` enforces). Paths are relative to the folder depcruise runs in, so the same
 * rules check src/ and the fixture trees of test/lint/boundaries.test.ts.
 *
 *   domain  pure rules: itself and node: builtins only
 *   app     use cases and their ports: domain, log
 *   audit   chain, formats, verification, auditor access: domain, app ports (types), log, cards
 *   cards   card rendering from cards/*.json: domain
 *   teams   the bot (botbuilder): app, domain, cards, audit, log
 *   http    the restify edge: teams (the activity handler), audit, app, domain, log
 *   log     the logger: nothing of ours
 *   azure, sandbox, store, cli, config: adapters, anything but main.ts
 *   and, whoever imports them: only teams imports botbuilder, only azure and sandbox @azure/*, only
 *   store the database drivers, only http restify; no cycles anywhere
 *   composition-root.ts  builds and wires everything: exempt; only main.ts (the entry point) imports it
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
    {
      name: 'no-main-import',
      comment: 'src/main.ts is the entry point: nothing imports it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'no-composition-root-import',
      comment: 'src/composition-root.ts builds everything: only the entry point (src/main.ts) starts it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/composition-root\\.ts$' },
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
    layer('app-imports-domain-and-log', 'src/app (use cases and their ports) imports only src/domain and src/log.', ours('app'), [
      ours('app', 'domain', 'log'),
    ]),
    layer(
      'audit-imports-below-it',
      'src/audit imports src/domain, the app ports (types), src/log and src/cards (evidence bundles render cards).',
      ours('audit'),
      [ours('audit', 'domain', 'log', 'cards'), '^src/app/ports\\.ts$', '^src/module-worker\\.ts$'],
    ),
    layer('cards-imports-domain-and-app-views', 'src/cards renders cards from cards/*.json: it imports src/domain and the views the use cases return (src/app), nothing of the adapters.', ours('cards'), [ours('cards', 'domain', 'app')]),
    layer('log-imports-nothing-of-ours', 'src/log is the lowest layer after domain: every layer may log.', ours('log'), [ours('log')]),
    layer('teams-imports-below-it', 'src/teams (the bot) imports src/app, src/domain, src/cards, src/audit and src/log.', ours('teams'), [
      ours('teams', 'app', 'domain', 'cards', 'audit', 'log'),
    ]),
    layer('http-imports-below-it', 'src/http (the restify edge) imports src/teams, src/audit, src/app, src/domain and src/log.', ours('http'), [
      ours('http', 'teams', 'audit', 'app', 'domain', 'log'),
    ]),
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
