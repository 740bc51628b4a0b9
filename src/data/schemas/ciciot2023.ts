/**
 * CICIoT2023 (CIC/UNB). E. C. P. Neto et al., "CICIoT2023: A Real-Time Dataset and Benchmark for
 * Large-Scale Attacks in IoT Environment", Sensors 23(13):5941 (2023), doi:10.3390/s23135941.
 *
 * Two releases with different schemas: the original CSVs (46 features + `label`) and MERGED_CSV
 * (39 features + `Label`, upper-case labels). No identifier columns are distributed. Rows are averages over
 * windows of 10 or 100 packets, so flag columns are fractions.
 *
 * Dropped as capture artefacts (SCHEMAS.md: they encode the windowing and per-capture setup): `Number`,
 * `Weight`. MOS proxy: `IAT` (mean inter-arrival time, in the CSVs in nanoseconds → delay in ms, capped at
 * 1 s) and `rst_flag_number` (share of packets with RST in the window → loss %). `IAT` is also a known
 * capture shortcut, so moving it out of the inputs serves both ends.
 */
import type { DatasetSchema } from '../schema.ts';

const ORIGINAL = [
  'flow_duration',
  'Header_Length',
  'Protocol Type',
  'Duration',
  'Rate',
  'Srate',
  'Drate',
  'fin_flag_number',
  'syn_flag_number',
  'rst_flag_number',
  'psh_flag_number',
  'ack_flag_number',
  'ece_flag_number',
  'cwr_flag_number',
  'ack_count',
  'syn_count',
  'fin_count',
  'urg_count',
  'rst_count',
  'HTTP',
  'HTTPS',
  'DNS',
  'Telnet',
  'SMTP',
  'SSH',
  'IRC',
  'TCP',
  'UDP',
  'DHCP',
  'ARP',
  'ICMP',
  'IPv',
  'LLC',
  'Tot sum',
  'Min',
  'Max',
  'AVG',
  'Std',
  'Tot size',
  'IAT',
  'Number',
  'Magnitue',
  'Radius',
  'Covariance',
  'Variance',
  'Weight',
  'label',
] as const;

const MERGED = [
  'Header_Length',
  'Protocol Type',
  'Time_To_Live',
  'Rate',
  'fin_flag_number',
  'syn_flag_number',
  'rst_flag_number',
  'psh_flag_number',
  'ack_flag_number',
  'ece_flag_number',
  'cwr_flag_number',
  'ack_count',
  'syn_count',
  'fin_count',
  'rst_count',
  'HTTP',
  'HTTPS',
  'DNS',
  'Telnet',
  'SMTP',
  'SSH',
  'IRC',
  'TCP',
  'UDP',
  'DHCP',
  'ARP',
  'ICMP',
  'IGMP',
  'IPv',
  'LLC',
  'Tot sum',
  'Min',
  'Max',
  'AVG',
  'Std',
  'Tot size',
  'IAT',
  'Number',
  'Variance',
  'Label',
] as const;

/** The 34 classes in the original release's spelling, grouped into the 8 categories. */
export const CICIOT_CATEGORIES: Readonly<Record<string, string>> = {
  BenignTraffic: 'Benign',
  'DDoS-RSTFINFlood': 'DDoS',
  'DDoS-PSHACK_Flood': 'DDoS',
  'DDoS-SYN_Flood': 'DDoS',
  'DDoS-UDP_Flood': 'DDoS',
  'DDoS-TCP_Flood': 'DDoS',
  'DDoS-ICMP_Flood': 'DDoS',
  'DDoS-SynonymousIP_Flood': 'DDoS',
  'DDoS-HTTP_Flood': 'DDoS',
  'DDoS-ACK_Fragmentation': 'DDoS',
  'DDoS-UDP_Fragmentation': 'DDoS',
  'DDoS-ICMP_Fragmentation': 'DDoS',
  'DDoS-SlowLoris': 'DDoS',
  'DoS-UDP_Flood': 'DoS',
  'DoS-SYN_Flood': 'DoS',
  'DoS-TCP_Flood': 'DoS',
  'DoS-HTTP_Flood': 'DoS',
  'Mirai-greeth_flood': 'Mirai',
  'Mirai-greip_flood': 'Mirai',
  'Mirai-udpplain': 'Mirai',
  'Recon-HostDiscovery': 'Recon',
  'Recon-OSScan': 'Recon',
  'Recon-PortScan': 'Recon',
  'Recon-PingSweep': 'Recon',
  VulnerabilityScan: 'Recon',
  'MITM-ArpSpoofing': 'Spoofing',
  DNS_Spoofing: 'Spoofing',
  DictionaryBruteForce: 'BruteForce',
  BrowserHijacking: 'Web',
  CommandInjection: 'Web',
  SqlInjection: 'Web',
  XSS: 'Web',
  Backdoor_Malware: 'Web',
  Uploading_Attack: 'Web',
};

export const CICIOT_CLASSES = Object.keys(CICIOT_CATEGORIES);

const UPPER_TO_CANONICAL = new Map(CICIOT_CLASSES.map((c) => [c.toUpperCase(), c]));

const shared = {
  dataset: 'ciciot2023',
  classes: CICIOT_CLASSES,
  categories: CICIOT_CATEGORIES,
  benign: 'BenignTraffic',
  missing: [],
  qoe: ['IAT', 'rst_flag_number'],
  impairments: (q: Readonly<Record<string, number>>) => ({
    delayMs: Math.min(1000, Math.max(0, (q.IAT ?? 0) / 1e6)),
    jitterMs: 0,
    lossPct: 100 * Math.min(1, Math.max(0, q.rst_flag_number ?? 0)),
  }),
  citation:
    'E. C. P. Neto et al., "CICIoT2023: A Real-Time Dataset and Benchmark for Large-Scale Attacks in IoT ' +
    'Environment", Sensors 23(13):5941 (2023).',
} as const;

function inputs(columns: readonly string[], label: string, drop: readonly string[]): string[] {
  return columns.filter((c) => c !== label && !drop.includes(c) && !shared.qoe.includes(c as 'IAT'));
}

export const CICIOT_ORIGINAL: DatasetSchema = {
  ...shared,
  release: 'original',
  title: 'CICIoT2023 (original, 46 features)',
  columns: ORIGINAL,
  drop: ['Number', 'Weight'],
  numeric: inputs(ORIGINAL, 'label', ['Number', 'Weight']),
  categorical: [],
  label: 'label',
};

export const CICIOT_MERGED: DatasetSchema = {
  ...shared,
  release: 'merged',
  title: 'CICIoT2023 (MERGED_CSV, 39 features)',
  columns: MERGED,
  drop: ['Number'],
  numeric: inputs(MERGED, 'Label', ['Number']),
  categorical: [],
  label: 'Label',
  canonicalLabel: (raw) => UPPER_TO_CANONICAL.get(raw.toUpperCase()),
};
