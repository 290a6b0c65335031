import type { Config } from '../config.ts';
import type { ClientAddress, MirrorClients } from '../types.ts';

/**
 * npm, pnpm and yarn 1 read `npm_config_*` from the environment (over a project's `.npmrc`);
 * yarn 1 also `YARN_REGISTRY`, yarn 2+ `YARN_NPM_REGISTRY_SERVER` and refuses plain http to a host
 * not in `YARN_UNSAFE_HTTP_WHITELIST`. Audit, fund and update checks are off: they would ask
 * endpoints no mirror has.
 */
export function npmClients(config: Config, at: ClientAddress): MirrorClients {
  const url = `http://${at.host}:${config.npm.port}/`;
  const env = {
    npm_config_registry: url,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    YARN_REGISTRY: url,
    YARN_NPM_REGISTRY_SERVER: url,
    YARN_UNSAFE_HTTP_WHITELIST: at.address,
  };
  return {
    url,
    exports: { npm_config_registry: url },
    files: [{ name: '.npmrc', description: 'npm (project or ~/.npmrc; COPY into a Dockerfile before npm ci)', content: `registry=${url}\naudit=false\nfund=false\nupdate-notifier=false\n` }],
    image: { env, files: [] },
  };
}
