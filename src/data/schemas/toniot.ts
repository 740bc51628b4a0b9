/**
 * TON_IoT network data (UNSW Canberra). N. Moustafa, "A new distributed architecture for evaluating
 * AI-based security systems at the edge: Network TON_IoT datasets", Sustainable Cities and Society 72 (2021).
 *
 * Two releases: `train_test_network.csv` (44 columns) and `Network_dataset_1..23.csv` (46: adds `ts` and
 * `http_referrer`). Missing values are written "-".
 *
 * MOS proxy: loss only. Flow records carry no per-packet timing apart from `duration`, and `duration` is
 * what separates scans from the rest (without it a grouped 1-NN drops from macro-F1 0.93 to 0.77 on the
 * shipped subset), so it stays a model input and the proxy has no delay term. Loss: segments the sensor saw
 * missing (`missed_bytes` / 1460-byte MSS), plus one lost reply for a flow that sent packets and got none,
 * over all packets. `missed_bytes`, `src_pkts`, `dst_pkts` are QoE columns, not inputs. Note that
 * `dst_ip_bytes` = 0 exactly when `dst_pkts` = 0, so the "no reply" part stays visible to the model.
 */
import type { DatasetSchema } from '../schema.ts';

const COLUMNS_44 = [
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  'proto',
  'service',
  'duration',
  'src_bytes',
  'dst_bytes',
  'conn_state',
  'missed_bytes',
  'src_pkts',
  'src_ip_bytes',
  'dst_pkts',
  'dst_ip_bytes',
  'dns_query',
  'dns_qclass',
  'dns_qtype',
  'dns_rcode',
  'dns_AA',
  'dns_RD',
  'dns_RA',
  'dns_rejected',
  'ssl_version',
  'ssl_cipher',
  'ssl_resumed',
  'ssl_established',
  'ssl_subject',
  'ssl_issuer',
  'http_trans_depth',
  'http_method',
  'http_uri',
  'http_version',
  'http_request_body_len',
  'http_response_body_len',
  'http_status_code',
  'http_user_agent',
  'http_orig_mime_types',
  'http_resp_mime_types',
  'weird_name',
  'weird_addl',
  'weird_notice',
  'label',
  'type',
] as const;

const COLUMNS_46 = ['ts', ...COLUMNS_44.slice(0, 31), 'http_referrer', ...COLUMNS_44.slice(31)] as const;

const DROP = [
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  // high-cardinality strings treated as identifiers (SCHEMAS.md)
  'dns_query',
  'ssl_subject',
  'ssl_issuer',
  'http_uri',
  'http_user_agent',
];

const NUMERIC = [
  'duration',
  'src_bytes',
  'dst_bytes',
  'src_ip_bytes',
  'dst_ip_bytes',
  'http_trans_depth',
  'http_request_body_len',
  'http_response_body_len',
];

const CATEGORICAL = [
  'proto',
  'service',
  'conn_state',
  'dns_qclass',
  'dns_qtype',
  'dns_rcode',
  'dns_AA',
  'dns_RD',
  'dns_RA',
  'dns_rejected',
  'ssl_version',
  'ssl_cipher',
  'ssl_resumed',
  'ssl_established',
  'http_method',
  'http_version',
  'http_status_code',
  'http_orig_mime_types',
  'http_resp_mime_types',
  'weird_name',
  'weird_addl',
  'weird_notice',
];

const QOE = ['missed_bytes', 'src_pkts', 'dst_pkts'];

export const TONIOT_CLASSES = [
  'normal',
  'backdoor',
  'ddos',
  'dos',
  'injection',
  'mitm',
  'password',
  'ransomware',
  'scanning',
  'xss',
] as const;

const MSS = 1460; // bytes in a typical TCP segment

const shared = {
  dataset: 'toniot',
  title: 'TON_IoT network',
  drop: DROP,
  numeric: NUMERIC,
  categorical: CATEGORICAL,
  qoe: QOE,
  label: 'type',
  binaryLabel: 'label',
  classes: TONIOT_CLASSES,
  benign: 'normal',
  missing: ['-'],
  impairments: (q: Readonly<Record<string, number>>) => {
    const sent = Math.max(0, q.src_pkts ?? 0);
    const received = Math.max(0, q.dst_pkts ?? 0);
    const lostSegments = Math.max(0, q.missed_bytes ?? 0) / MSS + (sent > 0 && received === 0 ? 1 : 0);
    const total = lostSegments + sent + received;
    return { delayMs: 0, jitterMs: 0, lossPct: total > 0 ? (100 * lostSegments) / total : 0 };
  },
  citation:
    'N. Moustafa, "A new distributed architecture for evaluating AI-based security systems at the edge: ' +
    'Network TON_IoT datasets", Sustainable Cities and Society 72 (2021); TON_IoT datasets, UNSW Canberra.',
} as const;

export const TONIOT_TRAIN_TEST: DatasetSchema = {
  ...shared,
  release: 'train_test_network',
  columns: COLUMNS_44,
};

export const TONIOT_FULL: DatasetSchema = {
  ...shared,
  release: 'network_dataset',
  columns: COLUMNS_46,
  drop: ['ts', ...DROP, 'http_referrer'],
};
