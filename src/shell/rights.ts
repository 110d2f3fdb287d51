import type { Directory, HostUser, Right } from '../host/contract';

/**
 * SE3's rights model: `is_admin(r)` is true for holders of system_is_admin or of r
 * (ou=Rights in the directory). Holders of a right who are not system_is_admin act only on the
 * parcs delegated to them. The configured local super-admin holds everything.
 */
export class Rights {
  constructor(
    private readonly directory: Directory,
    private readonly delegations: readonly { readonly login: string; readonly parc: string }[],
    private readonly localAdminLogin: string | null,
  ) {}

  async can(user: HostUser, right: Right): Promise<boolean> {
    if (this.localAdminLogin !== null && user.login === this.localAdminLogin) return true;
    if ((await this.directory.rightHolders('system_is_admin')).includes(user.login)) return true;
    return right !== 'system_is_admin' && (await this.directory.rightHolders(right)).includes(user.login);
  }

  async parcsOf(user: HostUser, right: Right): Promise<'all' | string[]> {
    if (await this.can(user, 'system_is_admin')) return 'all';
    if (!(await this.can(user, right))) return [];
    return [...new Set(this.delegations.filter((d) => d.login === user.login).map((d) => d.parc))].sort();
  }
}
