// Checks on what a person types into the installer's fields, with the messages
// the screens show. Pure.

export function isIpv4(v: string): boolean {
  const parts = v.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** A dotted netmask with contiguous ones (0.0.0.0 excluded: no network is that wide). */
export function isNetmask(v: string): boolean {
  if (!isIpv4(v)) return false;
  const n = v.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  if (n === 0) return false;
  const inverted = 0xffffffff - n;
  return (inverted & (inverted + 1)) === 0;
}

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** RFC 1123 host name (labels of letters, digits and inner hyphens), at most 253 characters. */
export function isHostname(v: string): boolean {
  return v.length <= 253 && HOSTNAME.test(v);
}

/** The 7.1 installer's rule (host-installer constants.MIN_PASSWD_LEN); the seed gives none. */
export const MIN_PASSWORD_LENGTH = 6;

export const MESSAGES = {
  passwordsDiffer: 'The passwords you entered do not match.',
  passwordTooShort: `The password has to be ${MIN_PASSWORD_LENGTH} characters or longer.`,
  passwordWhitespace: 'The password must not start or end with a space.',
  badIp: (what: string, v: string) => `${what} '${v}' is not an IPv4 address like 192.168.1.10.`,
  badNetmask: (v: string) => `Subnet mask '${v}' is not a netmask like 255.255.255.0.`,
  needIp: 'Enter an IP address and a subnet mask for a static configuration.',
  badVlan: (v: string) => `VLAN ID '${v}' must be a number from 1 to 4094.`,
  badHostname: (v: string) => `'${v}' is not a valid host name (letters, digits, hyphens and dots).`,
  needHostname: 'Enter a host name, or choose to set it via DHCP.',
  needDns: 'Enter at least the primary DNS server, or choose to set DNS via DHCP.',
  dhcpNotUsed: (what: string) => `The management interface has a static configuration, so DHCP cannot provide the ${what}. Specify it manually.`,
  badNtp: (v: string) => `NTP server '${v}' is not a host name or IPv4 address.`,
  needNtp: 'Enter at least one NTP server, or choose that DHCP provides them.',
  badUrl: (v: string) => `'${v}' is not an http://, https:// or ftp:// URL.`,
  badNfs: (v: string) => `'${v}' is not an NFS path like server:/path.`,
  noNics: 'No network interfaces were found.',
  noDisks: 'No disks were found to install on.',
  badDate: (v: string) => `'${v}' is not a date like 2017-06-30.`,
  badTime: (v: string) => `'${v}' is not a time like 13:45.`,
  badSavePath: (v: string) => `'${v}' is not an absolute path for the answer file.`,
} as const;

export function isUrl(v: string): boolean {
  return /^(https?|ftp):\/\/[^\s/]+(\/\S*)?$/i.test(v);
}

export function isNfsPath(v: string): boolean {
  return /^[^\s:/]+:\/\S*$/.test(v);
}

/** `url` with `user:password@` put in front of the host (URL-encoded), as the installer fetches it. */
export function urlWithCredentials(url: string, username: string, password: string): string {
  if (!username) return url;
  const m = /^([a-z]+:\/\/)(.*)$/i.exec(url);
  if (!m) return url;
  const cred = encodeURIComponent(username) + (password ? `:${encodeURIComponent(password)}` : '');
  return `${m[1]}${cred}@${m[2]}`;
}

export function isDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

export function isTime(v: string): boolean {
  const m = /^(\d{1,2}):(\d{2})$/.exec(v);
  return m !== null && Number(m[1]) < 24 && Number(m[2]) < 60;
}
