import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DARWIN_CORE_COLUMNS,
  darwinCoreTable,
  toDarwinCoreRow,
  type DarwinCoreImage,
} from '../../../src-main/core/export/darwin-core';
import { writeTable } from '../../../src-main/core/export/table-writer';
import { temporaryFolder } from '../../helpers/fixtures';
import { readCsvWithPython } from './python';

/** SHA-256 of the empty string (`sha256sum < /dev/null`), standing in for a photo's hash. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const FOLDER_LABELED: DarwinCoreImage = {
  imagePath: '/data/eu moths/Agrotis ipsilon/IMG #1.jpg',
  fileName: 'IMG #1.jpg',
  sha256: EMPTY_SHA256.toUpperCase(),
  clusterId: 3,
  clusterName: 'Noctuidae, dark',
  distanceToCenter: 0.123456789,
  speciesLabel: 'Agrotis ipsilon',
  labelSource: 'folder',
  labeledBy: 'A. Ecologist',
  projectName: 'Light trap 2024',
};

const MODEL_SUGGESTED: DarwinCoreImage = {
  imagePath: 'C:\\Moths\\Zygène 2.jpg',
  fileName: 'Zygène 2.jpg',
  sha256: '0'.repeat(64),
  clusterId: 0,
  clusterName: 'Cluster 0',
  distanceToCenter: -0.5,
  speciesLabel: 'Zygaena filipendulae',
  labelSource: 'model',
};

const UNREADABLE: DarwinCoreImage = {
  imagePath: '/data/broken.jpg',
  fileName: 'broken.jpg',
  sha256: null,
  clusterId: null,
  clusterName: null,
  distanceToCenter: null,
  speciesLabel: null,
  labelSource: null,
};

describe('Darwin Core export', () => {
  const { folder, cleanup } = temporaryFolder('darwin-core-');
  afterAll(cleanup);

  it('lists Darwin Core terms with the cluster columns beside scientificName', () => {
    expect(DARWIN_CORE_COLUMNS).toEqual([
      'occurrenceID',
      'basisOfRecord',
      'datasetName',
      'scientificName',
      'cluster_id',
      'cluster_name',
      'verbatimIdentification',
      'identifiedBy',
      'identificationVerificationStatus',
      'identificationRemarks',
      'associatedMedia',
    ]);
  });

  it('publishes a human label as a verified HumanObservation', () => {
    expect(toDarwinCoreRow(FOLDER_LABELED)).toEqual({
      occurrenceID: `urn:sha256:${EMPTY_SHA256}`,
      basisOfRecord: 'HumanObservation',
      datasetName: 'Light trap 2024',
      scientificName: 'Agrotis ipsilon',
      cluster_id: 3,
      cluster_name: 'Noctuidae, dark',
      verbatimIdentification: 'Noctuidae, dark',
      identifiedBy: 'A. Ecologist',
      identificationVerificationStatus: 'verified by expert',
      identificationRemarks:
        'Specimen Sorter machine cluster 3 "Noctuidae, dark", embedding distance to cluster center 0.1234568; species label from folder names',
      associatedMedia: 'file:///data/eu%20moths/Agrotis%20ipsilon/IMG%20%231.jpg',
    });
    for (const labelSource of ['csv', 'user'] as const) {
      const row = toDarwinCoreRow({ ...FOLDER_LABELED, labelSource, labeledBy: null });
      expect([row.basisOfRecord, row.scientificName, row.identifiedBy]).toEqual(['HumanObservation', 'Agrotis ipsilon', null]);
    }
  });

  it('keeps a model suggestion out of scientificName and marks it unverified', () => {
    expect(toDarwinCoreRow(MODEL_SUGGESTED)).toEqual({
      occurrenceID: `urn:sha256:${'0'.repeat(64)}`,
      basisOfRecord: 'MachineObservation',
      datasetName: null,
      scientificName: null,
      cluster_id: 0,
      cluster_name: 'Cluster 0',
      verbatimIdentification: 'Zygaena filipendulae',
      identifiedBy: null,
      identificationVerificationStatus: 'unverified',
      identificationRemarks:
        'Specimen Sorter machine cluster 0 "Cluster 0", embedding distance to cluster center -0.5; species label from a model suggestion',
      associatedMedia: 'file:///C:/Moths/Zyg%C3%A8ne%202.jpg',
    });
  });

  it('falls back to the file URI as occurrenceID when the photo has no hash', () => {
    expect(toDarwinCoreRow(UNREADABLE)).toEqual({
      occurrenceID: 'file:///data/broken.jpg',
      basisOfRecord: 'MachineObservation',
      datasetName: null,
      scientificName: null,
      cluster_id: null,
      cluster_name: null,
      verbatimIdentification: null,
      identifiedBy: null,
      identificationVerificationStatus: 'unverified',
      identificationRemarks: 'Not clustered by Specimen Sorter',
      associatedMedia: 'file:///data/broken.jpg',
    });
  });

  it('treats a blank human label as no label', () => {
    const row = toDarwinCoreRow({ ...FOLDER_LABELED, speciesLabel: '  ' });
    expect([row.basisOfRecord, row.scientificName, row.identificationVerificationStatus]).toEqual([
      'MachineObservation',
      null,
      'unverified',
    ]);
  });

  it('rejects a relative image path, which has no file URI', () => {
    expect(() => toDarwinCoreRow({ ...UNREADABLE, imagePath: 'moths/a.jpg' })).toThrow(
      'Image path must be absolute to make a file URI: moths/a.jpg',
    );
  });

  it('reports byte-identical photos whose occurrence IDs collide', () => {
    const copy = { ...FOLDER_LABELED, imagePath: '/backup/IMG 1.jpg' };
    const { rows, duplicateOccurrenceIds } = darwinCoreTable([FOLDER_LABELED, MODEL_SUGGESTED, copy]);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toEqual(DARWIN_CORE_COLUMNS.map((column) => toDarwinCoreRow(MODEL_SUGGESTED)[column]));
    expect(duplicateOccurrenceIds).toEqual([`urn:sha256:${EMPTY_SHA256}`]);
  });

  it('writes a table that Python csv reads back term by term', () => {
    const { rows } = darwinCoreTable([FOLDER_LABELED, MODEL_SUGGESTED, UNREADABLE]);
    const file = path.join(folder, 'occurrences.csv');
    writeFileSync(file, writeTable(DARWIN_CORE_COLUMNS, rows, { bom: true }), 'utf8');
    const [header, ...records] = readCsvWithPython(file, ',');
    expect(header).toEqual([...DARWIN_CORE_COLUMNS]);
    const byTerm = records.map((record) => Object.fromEntries(DARWIN_CORE_COLUMNS.map((term, index) => [term, record[index]])));
    expect(byTerm.map((record) => record.scientificName)).toEqual(['Agrotis ipsilon', '', '']);
    expect(byTerm.map((record) => record.cluster_id)).toEqual(['3', '0', '']);
    expect(byTerm.map((record) => record.cluster_name)).toEqual(['Noctuidae, dark', 'Cluster 0', '']);
    expect(byTerm.map((record) => record.basisOfRecord)).toEqual(['HumanObservation', 'MachineObservation', 'MachineObservation']);
  });
});
