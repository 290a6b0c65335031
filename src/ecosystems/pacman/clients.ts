import type { Config } from '../config.ts';
import type { ClientAddress, MirrorClients } from '../types.ts';

/** pacman has no environment setting for its servers: they come from `/etc/pacman.d/mirrorlist`. */
export function pacmanClients(config: Config, at: ClientAddress): MirrorClients {
  const url = `http://${at.host}:${config.pacman.port}/$repo/os/$arch`;
  const mirrorlist = `# offline: the pacman mirror (written by offline up)\nServer = ${url}\n`;
  return {
    url,
    exports: { OFFLINE_PACMAN_SERVER: url },
    files: [{ name: 'mirrorlist', description: 'pacman (/etc/pacman.d/mirrorlist)', content: mirrorlist }],
    image: { env: {}, files: [{ path: 'etc/pacman.d/mirrorlist', content: mirrorlist, when: 'etc/pacman.conf' }] },
  };
}
