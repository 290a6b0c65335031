declare module 'npm-pick-manifest' {
  type PickOptions = { defaultTag?: string; before?: string | Date | null; nodeVersion?: string };
  /** npm's own choice of a version for a spec: the `latest` tag when it satisfies, else the highest match. Throws with code ETARGET or ENOVERSIONS. */
  function pickManifest<M extends { version: string }>(
    packument: { name?: string; versions: Record<string, M>; 'dist-tags'?: Record<string, string>; time?: Record<string, string> },
    wanted: string,
    opts?: PickOptions,
  ): M;
  export default pickManifest;
}
