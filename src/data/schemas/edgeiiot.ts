/**
 * Edge-IIoTset. M. A. Ferrag et al., "Edge-IIoTset: A New Comprehensive Realistic Cyber Security Dataset of
 * IoT and IIoT Applications for Centralized and Federated Learning", IEEE Access 10:40281-40306 (2022),
 * doi:10.1109/ACCESS.2022.3165809.
 *
 * 63 columns = 61 features + `Attack_label` + `Attack_type`. Dropped: the 13 usual identifier and payload
 * fields plus the three port columns (SCHEMAS.md), the referer and DNS name strings (identifiers), and the
 * screened shortcut columns dns.qry.name.len, mqtt.topic, mqtt.protoname, mqtt.conack.flags (|r| with the
 * label 0.88-0.97). Column-shifted records fail the per-column type checks and are skipped.
 *
 * MOS proxy: `udp.time_delta` (seconds since the previous packet of the UDP stream → delay in ms, capped at
 * 1 s), and TCP resets and DNS retransmissions as loss events (20 % loss per event kind seen, capped at 100).
 */
import type { DatasetSchema } from '../schema.ts';

const COLUMNS = [
  'frame.time',
  'ip.src_host',
  'ip.dst_host',
  'arp.dst.proto_ipv4',
  'arp.opcode',
  'arp.hw.size',
  'arp.src.proto_ipv4',
  'icmp.checksum',
  'icmp.seq_le',
  'icmp.transmit_timestamp',
  'icmp.unused',
  'http.file_data',
  'http.content_length',
  'http.request.uri.query',
  'http.request.method',
  'http.referer',
  'http.request.full_uri',
  'http.request.version',
  'http.response',
  'http.tls_port',
  'tcp.ack',
  'tcp.ack_raw',
  'tcp.checksum',
  'tcp.connection.fin',
  'tcp.connection.rst',
  'tcp.connection.syn',
  'tcp.connection.synack',
  'tcp.dstport',
  'tcp.flags',
  'tcp.flags.ack',
  'tcp.len',
  'tcp.options',
  'tcp.payload',
  'tcp.seq',
  'tcp.srcport',
  'udp.port',
  'udp.stream',
  'udp.time_delta',
  'dns.qry.name',
  'dns.qry.name.len',
  'dns.qry.qu',
  'dns.qry.type',
  'dns.retransmission',
  'dns.retransmit_request',
  'dns.retransmit_request_in',
  'mqtt.conack.flags',
  'mqtt.conflag.cleansess',
  'mqtt.conflags',
  'mqtt.hdrflags',
  'mqtt.len',
  'mqtt.msg_decoded_as',
  'mqtt.msg',
  'mqtt.msgtype',
  'mqtt.proto_len',
  'mqtt.protoname',
  'mqtt.topic',
  'mqtt.topic_len',
  'mqtt.ver',
  'mbtcp.len',
  'mbtcp.trans_id',
  'mbtcp.unit_id',
  'Attack_label',
  'Attack_type',
] as const;

const DROP = [
  'frame.time',
  'ip.src_host',
  'ip.dst_host',
  'arp.src.proto_ipv4',
  'arp.dst.proto_ipv4',
  'http.file_data',
  'http.request.full_uri',
  'icmp.transmit_timestamp',
  'http.request.uri.query',
  'tcp.options',
  'tcp.payload',
  'mqtt.msg',
  'tcp.srcport',
  'tcp.dstport',
  'udp.port',
  'http.referer',
  'dns.qry.name',
  // screened shortcut columns (Dhaou 2026, SCHEMAS.md)
  'dns.qry.name.len',
  'mqtt.topic',
  'mqtt.protoname',
  'mqtt.conack.flags',
];

const CATEGORICAL = ['http.request.method', 'http.request.version', 'mqtt.msg_decoded_as'];
const QOE = ['udp.time_delta', 'tcp.connection.rst', 'dns.retransmission', 'dns.retransmit_request'];

export const EDGEIIOT_CATEGORIES: Readonly<Record<string, string>> = {
  Normal: 'Normal',
  DDoS_UDP: 'DoS/DDoS',
  DDoS_ICMP: 'DoS/DDoS',
  DDoS_TCP: 'DoS/DDoS',
  DDoS_HTTP: 'DoS/DDoS',
  Port_Scanning: 'Information gathering',
  Fingerprinting: 'Information gathering',
  Vulnerability_scanner: 'Information gathering',
  MITM: 'MITM',
  XSS: 'Injection',
  SQL_injection: 'Injection',
  Uploading: 'Injection',
  Backdoor: 'Malware',
  Password: 'Malware',
  Ransomware: 'Malware',
};

export const EDGEIIOT: DatasetSchema = {
  dataset: 'edgeiiot',
  release: 'ml-dnn',
  title: 'Edge-IIoTset',
  columns: COLUMNS,
  drop: DROP,
  numeric: COLUMNS.filter(
    (c) =>
      !DROP.includes(c) &&
      !CATEGORICAL.includes(c) &&
      !QOE.includes(c) &&
      c !== 'Attack_label' &&
      c !== 'Attack_type',
  ),
  categorical: CATEGORICAL,
  qoe: QOE,
  label: 'Attack_type',
  binaryLabel: 'Attack_label',
  classes: Object.keys(EDGEIIOT_CATEGORIES),
  categories: EDGEIIOT_CATEGORIES,
  benign: 'Normal',
  missing: [''],
  impairments: (q) => {
    const events =
      ((q['tcp.connection.rst'] ?? 0) > 0 ? 1 : 0) +
      ((q['dns.retransmission'] ?? 0) > 0 ? 1 : 0) +
      ((q['dns.retransmit_request'] ?? 0) > 0 ? 1 : 0);
    return {
      delayMs: Math.min(1000, Math.max(0, (q['udp.time_delta'] ?? 0) * 1000)),
      jitterMs: 0,
      lossPct: Math.min(100, 20 * events),
    };
  },
  citation:
    'M. A. Ferrag et al., "Edge-IIoTset: A New Comprehensive Realistic Cyber Security Dataset of IoT and IIoT ' +
    'Applications for Centralized and Federated Learning", IEEE Access 10:40281-40306 (2022).',
};
