// The Docker command line for the compose e2e suites: Compose v2 (`docker compose`) where the user has it, otherwise
// v1 (`docker-compose --compatibility`, which honours `deploy.replicas`); containers found by Compose's labels, which
// both versions set, instead of by names, which they spell differently.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** How to run Compose here, or an error naming what to install. */
export function composeCommand(): { command: string; args: string[] } {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) {
    return { command: 'docker', args: ['compose'] };
  }
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) {
    return { command: 'docker-compose', args: ['--compatibility'] };
  }
  throw new Error('Neither `docker compose` (v2) nor `docker-compose` (v1) runs here: install Docker Compose.');
}

export interface ContainerState {
  id: string;
  service: string;
  /** Replica number within the service (1, 2…). */
  index: number;
  status: string;
  /** `healthy`, `starting`, `unhealthy`, or '' for a container without a health check. */
  health: string;
  exitCode: number;
}

/** Every container of a Compose project, running or not. */
export async function projectContainers(project: string): Promise<ContainerState[]> {
  const ids = (await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).split('\n');
  if (ids[0] === '') return [];
  const format =
    '{{.Id}}|{{index .Config.Labels "com.docker.compose.service"}}|' +
    '{{index .Config.Labels "com.docker.compose.container-number"}}|{{.State.Status}}|' +
    '{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}';
  const lines = (await docker('inspect', '--format', format, ...ids)).split('\n');
  return lines.map((line) => {
    const [id, service, index, status, health, exitCode] = line.split('|');
    return { id, service, index: Number(index), status, health, exitCode: Number(exitCode) };
  });
}

/** What the container's last health check printed ('' without one). */
export async function lastHealthCheck(id: string): Promise<string> {
  const health = JSON.parse(await docker('inspect', '--format', '{{json .State.Health}}', id)) as {
    Log?: { Output: string }[];
  } | null;
  return health?.Log?.at(-1)?.Output.trim() ?? '';
}
