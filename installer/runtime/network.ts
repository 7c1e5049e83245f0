// The installer's own network, brought up when the answer file, a script or the
// repository is remote: `answerfile_device` (ethN, a MAC or all) and
// `network_config` (dhcp or static:...). Which commands to run is decided by pure
// functions; bringUpNetwork runs them.
import { existsSync, writeFileSync } from 'node:fs';
import { XsforgeError } from '../../core/errors.ts';
import { findOnPath } from '../../core/which.ts';
import type { NetworkConfig } from './cmdline.ts';
import type { InstallLog } from './log.ts';
import type { Nic } from './system.ts';
import { netmaskPrefix, resolvConf } from '../../target/host-files.ts';

export class NetworkError extends XsforgeError {}

/** Interfaces named by `answerfile_device`: all of them, one by name, or one by MAC. */
export function selectInterfaces(device: string, nics: Pick<Nic, 'name' | 'mac' | 'carrier'>[]): string[] {
  if (nics.length === 0) throw new NetworkError('No network interfaces were found, but the answer file or repository is on the network.');
  const d = device.toLowerCase();
  if (d === 'all') return nics.map((n) => n.name);
  const byName = nics.find((n) => n.name === d);
  if (byName) return [byName.name];
  const byMac = nics.find((n) => n.mac.toLowerCase() === d);
  if (byMac) return [byMac.name];
  throw new NetworkError(`answerfile_device=${device}: no such network interface`, `interfaces found: ${nics.map((n) => `${n.name} ${n.mac}`).join(', ')}`);
}

export type DhcpClient = 'dhclient' | 'udhcpc';

export interface NetworkSteps {
  /** commands in order; for DHCP over several interfaces with udhcpc, alternatives (the first that succeeds wins) */
  commands: string[][];
  alternatives: string[][];
  /** /etc/resolv.conf for a static configuration */
  resolvConf?: string;
}

/** The commands that configure `ifaces` as `config` says. */
export function networkSteps(config: NetworkConfig, ifaces: string[], nics: Pick<Nic, 'name' | 'carrier'>[], dhcp: DhcpClient | undefined): NetworkSteps {
  if (config.mode === 'static') {
    // one address: on the first interface with a link, else the first one
    const withLink = ifaces.find((i) => nics.find((n) => n.name === i)?.carrier === true);
    const iface = withLink ?? ifaces[0]!;
    const prefix = netmaskPrefix(config.netmask);
    if (prefix === undefined) throw new NetworkError(`network_config: netmask ${config.netmask} is not a valid netmask`);
    const commands = [
      ['ip', 'link', 'set', 'dev', iface, 'up'],
      ['ip', 'addr', 'add', `${config.ip}/${prefix}`, 'dev', iface],
    ];
    if (config.gateway) commands.push(['ip', 'route', 'add', 'default', 'via', config.gateway, 'dev', iface]);
    return { commands, alternatives: [], resolvConf: resolvConf(config.dns, config.domain) };
  }
  if (!dhcp) throw new NetworkError('network_config=dhcp needs a DHCP client (dhclient from isc-dhcp-client, or busybox udhcpc), and install.img has neither.');
  const up = ifaces.map((i) => ['ip', 'link', 'set', 'dev', i, 'up']);
  if (dhcp === 'dhclient') {
    // -1: try once (dhclient's timeout, 60 s) and exit non-zero without a lease
    return { commands: [...up, ['dhclient', '-1', '-v', '-pf', '/run/dhclient.pid', '-lf', '/run/dhclient.leases', ...ifaces]], alternatives: [] };
  }
  return { commands: up, alternatives: ifaces.map((i) => ['udhcpc', '-n', '-q', '-t', '10', '-i', i]) };
}

/** Configure the network; throws NetworkError when it cannot be brought up. */
export async function bringUpNetwork(log: InstallLog, config: NetworkConfig, device: string, nics: Nic[], resolvConfPath = '/etc/resolv.conf'): Promise<void> {
  const ifaces = selectInterfaces(device, nics);
  // already configured (from the installer shell, or a second install attempt): keep it
  for (const i of ifaces) {
    const r = await log.run(['ip', '-4', '-o', 'addr', 'show', 'dev', i, 'scope', 'global']).catch(() => undefined);
    if (r && r.stdout.trim()) {
      log.say(`Networking: ${i} is already configured (${r.stdout.trim().split(/\s+/)[3] ?? ''}); using it`);
      return;
    }
  }
  const dhcp: DhcpClient | undefined = findOnPath('dhclient') ? 'dhclient' : findOnPath('udhcpc') ? 'udhcpc' : undefined;
  const steps = networkSteps(config, ifaces, nics, dhcp);
  log.say(`Configuring networking (${config.mode === 'dhcp' ? 'DHCP' : `static ${config.ip}`}) on ${ifaces.join(', ')}`);
  for (const argv of steps.commands) {
    try {
      await log.run(argv, { timeoutMs: 180_000 });
    } catch (e) {
      throw new NetworkError(`Unable to configure the network on ${ifaces.join(', ')}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (steps.alternatives.length) {
    let ok = false;
    for (const argv of steps.alternatives) {
      try {
        await log.run(argv, { timeoutMs: 180_000 });
        ok = true;
        break;
      } catch { /* try the next interface */ }
    }
    if (!ok) throw new NetworkError(`No DHCP lease on ${ifaces.join(', ')}.`);
  }
  if (steps.resolvConf !== undefined && existsSync('/etc')) writeFileSync(resolvConfPath, steps.resolvConf);
}
