/** Every known release of every dataset. */
import type { DatasetSchema } from '../schema.ts';
import { CICIOT_MERGED, CICIOT_ORIGINAL } from './ciciot2023.ts';
import { EDGEIIOT } from './edgeiiot.ts';
import { TONIOT_FULL, TONIOT_TRAIN_TEST } from './toniot.ts';

export const RELEASES: readonly DatasetSchema[] = [
  TONIOT_TRAIN_TEST,
  TONIOT_FULL,
  CICIOT_ORIGINAL,
  CICIOT_MERGED,
  EDGEIIOT,
];
