// Credentials for one registry, in our own shape: the engine backends turn them into what their API wants
// (the Docker header's `serveraddress`/`identitytoken`, BuildKit's session answers), and nothing else does.

export type Credentials =
  { readonly registry: string; readonly username: string; readonly password: string } | { readonly registry: string; readonly identityToken: string };

/** The credentials for a registry host (`docker.io` for Docker Hub), or undefined when there are none. */
export type CredentialLookup = (registry: string) => Promise<Credentials | undefined>;

/** Environment variables that the config says carry one registry's credentials (DOCKER_HUB_USER for Docker Hub). */
export interface CredentialVariables {
  /** The registry host, Docker Hub as `docker.io`. */
  readonly registry: string;
  readonly usernameVariable: string;
  readonly passwordVariable: string;
}
