import type { Config } from '../config.ts';
import type { ClientAddress, MirrorClients } from '../types.ts';

/** pip (and uv) from the environment; plain http off loopback needs the host trusted. */
export function pypiClients(config: Config, at: ClientAddress): MirrorClients {
  const url = `http://${at.host}:${config.pypi.port}/simple/`;
  const trusted: Record<string, string> = at.loopback ? {} : { PIP_TRUSTED_HOST: at.address };
  const insecure: Record<string, string> = at.loopback ? {} : { UV_INSECURE_HOST: at.address };
  return {
    url,
    exports: { PIP_INDEX_URL: url, ...trusted },
    files: [{
      name: 'pip.conf', description: 'pip (/etc/pip.conf or PIP_CONFIG_FILE); plain http needs trusted-host off loopback',
      content: `[global]\nindex-url = ${url}\n${at.loopback ? '' : `trusted-host = ${at.address}\n`}disable-pip-version-check = true\n`,
    }],
    image: {
      env: { PIP_INDEX_URL: url, ...trusted, PIP_DISABLE_PIP_VERSION_CHECK: '1', UV_INDEX_URL: url, ...insecure },
      files: [],
    },
  };
}
