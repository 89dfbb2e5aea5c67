/**
 * Maps exported images to Darwin Core occurrence rows, the table biodiversity portals such as GBIF import.
 *
 * Term definitions quoted below are from the Darwin Core quick reference guide, https://dwc.tdwg.org/terms/.
 */
import { pathToFileURL } from 'node:url';
import type { CsvValue } from './csv';

/** Where an image's species label came from: folder names, an imported CSV, the user, or a model suggestion. */
export type LabelSource = 'folder' | 'csv' | 'user' | 'model';

/** One image as the exporter sees it: its file, its machine cluster and its label, if any. */
export interface DarwinCoreImage {
  /** Absolute path of the image file on this machine. */
  imagePath: string;
  fileName: string;
  /** SHA-256 of the file's bytes in hex; null when the file could not be read. */
  sha256: string | null;
  clusterId: number | null;
  clusterName: string | null;
  /** Distance from the image's embedding to its cluster's center, in the clustering's embedding space. */
  distanceToCenter: number | null;
  speciesLabel: string | null;
  labelSource: LabelSource | null;
  /** Who assigned a human label (a person or group), when known. */
  labeledBy?: string | null;
  projectName?: string;
}

/**
 * Columns of the Darwin Core export, in order.
 *
 * `cluster_id` and `cluster_name` are not Darwin Core terms; they sit beside `scientificName` so the human label
 * and the machine cluster read together.
 */
export const DARWIN_CORE_COLUMNS = [
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
] as const;

/** One column name of `DARWIN_CORE_COLUMNS`. */
export type DarwinCoreColumn = (typeof DARWIN_CORE_COLUMNS)[number];

/** One occurrence row, keyed by column name. */
export type DarwinCoreRow = Record<DarwinCoreColumn, CsvValue>;

/** Label sources a person stands behind: sorted folders, a labels CSV they supplied, a label typed in the app. */
const HUMAN_SOURCES: ReadonlySet<LabelSource> = new Set(['folder', 'csv', 'user']);

const SOURCE_DESCRIPTIONS: Record<LabelSource, string> = {
  folder: 'folder names',
  csv: 'an imported labels CSV',
  user: 'a person in Specimen Sorter',
  model: 'a model suggestion',
};

/**
 * Maps one image to a Darwin Core occurrence row.
 *
 * toDarwinCoreRow({ imagePath: '/moths/a.jpg', fileName: 'a.jpg', sha256: 'ab…', clusterId: 3, clusterName: 'Cluster 3',
 *   distanceToCenter: 0.25, speciesLabel: 'Agrotis ipsilon', labelSource: 'folder' })
 * // { occurrenceID: 'urn:sha256:ab…', basisOfRecord: 'HumanObservation', scientificName: 'Agrotis ipsilon',
 * //   cluster_id: 3, associatedMedia: 'file:///moths/a.jpg', … }
 */
export function toDarwinCoreRow(image: DarwinCoreImage): DarwinCoreRow {
  const label = image.speciesLabel?.trim() ?? '';
  const human = label !== '' && image.labelSource !== null && HUMAN_SOURCES.has(image.labelSource);
  const machineSuggestion = image.labelSource === 'model' && label !== '' ? label : null;
  return {
    // occurrenceID: "An identifier for the dwc:Occurrence (as opposed to a particular digital record of the
    // dwc:Occurrence)". We use the photo's content hash, `urn:sha256:<hex>`, rather than a project-scoped id:
    // it stays the same when the file is moved or renamed, in every project and every re-export, so a portal
    // updates the record instead of duplicating it, and it joins with `content_sha256` in the per-image CSV.
    // Byte-identical copies of one photo share it; `darwinCoreTable` reports them. Without a hash (unreadable
    // file) the file URI stands in, unique on this machine but not stable across moves.
    occurrenceID: image.sha256 ? `urn:sha256:${image.sha256.toLowerCase()}` : fileUri(image.imagePath),
    // basisOfRecord: "The specific nature of the data record", from the Darwin Core class names. A person's
    // identification makes it a HumanObservation; a record known only from a machine's clustering is a
    // MachineObservation.
    basisOfRecord: human ? 'HumanObservation' : 'MachineObservation',
    // datasetName: "The name identifying the data set from which the record was derived."
    datasetName: image.projectName ?? null,
    // scientificName: "The full scientific name, with authorship and date information if known." Only a label a
    // person stands behind goes here; a cluster or a model's guess is not an identification to publish as one.
    scientificName: human ? label : null,
    cluster_id: image.clusterId,
    cluster_name: image.clusterName,
    // verbatimIdentification: "A string representing the taxonomic identification as it appeared in the
    // original record." The machine's view: its species suggestion when there is one, else the cluster's name
    // (which the user may have set to a tentative taxon such as `Noctuidae sp. 2`).
    verbatimIdentification: machineSuggestion ?? image.clusterName,
    // identifiedBy: "A list (concatenated and separated) of names of people, groups, or organizations who
    // assigned the dwc:Taxon to the subject." Only people; empty when nobody identified the specimen.
    identifiedBy: human ? (image.labeledBy ?? null) : null,
    // identificationVerificationStatus: "A categorical indicator of the extent to which the taxonomic
    // identification has been verified to be correct." Human labels come from the ecologist running the
    // project, so they count as verified by an expert.
    identificationVerificationStatus: human ? 'verified by expert' : 'unverified',
    // identificationRemarks: "Comments or notes about the dwc:Identification." Keeps the machine evidence.
    identificationRemarks: identificationRemarks(image),
    // associatedMedia: "A list (concatenated and separated) of identifiers (publication, global unique
    // identifier, URI) of media associated with the dwc:Occurrence." A file URI of the photo.
    associatedMedia: fileUri(image.imagePath),
  };
}

/**
 * Maps images to rows in `DARWIN_CORE_COLUMNS` order for `writeTable`, and lists repeated occurrence IDs.
 *
 * Byte-identical photos share an occurrence ID, and portals reject a dataset with duplicates; the caller decides
 * whether to warn or to drop the copies.
 */
export function darwinCoreTable(images: readonly DarwinCoreImage[]): {
  rows: CsvValue[][];
  duplicateOccurrenceIds: string[];
} {
  const counts = new Map<string, number>();
  const rows = images.map((image) => {
    const row = toDarwinCoreRow(image);
    const id = String(row.occurrenceID);
    counts.set(id, (counts.get(id) ?? 0) + 1);
    return DARWIN_CORE_COLUMNS.map((column) => row[column]);
  });
  const duplicateOccurrenceIds = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
  return { rows, duplicateOccurrenceIds };
}

function identificationRemarks(image: DarwinCoreImage): string {
  const parts: string[] = [];
  if (image.clusterId === null) parts.push('Not clustered by Specimen Sorter');
  else {
    let cluster = `Specimen Sorter machine cluster ${image.clusterId}`;
    if (image.clusterName) cluster += ` "${image.clusterName}"`;
    if (image.distanceToCenter !== null) {
      // Seven significant digits, as in the per-image CSV: float32 embeddings carry no more.
      cluster += `, embedding distance to cluster center ${Number(image.distanceToCenter.toPrecision(7))}`;
    }
    parts.push(cluster);
  }
  if (image.labelSource !== null && image.speciesLabel?.trim()) {
    parts.push(`species label from ${SOURCE_DESCRIPTIONS[image.labelSource]}`);
  }
  return parts.join('; ');
}

/**
 * A `file://` URI for an absolute path, with spaces, `#`, `%`, `|` and non-ASCII letters percent-encoded.
 *
 * Windows paths (`C:\…`, `\\server\share\…`) are recognised by their shape rather than by the platform we run on,
 * so the same record gives the same URI everywhere.
 */
function fileUri(imagePath: string): string {
  const windows = /^[A-Za-z]:[\\/]/.test(imagePath) || imagePath.startsWith('\\\\');
  if (!windows && !imagePath.startsWith('/')) {
    throw new Error(`Image path must be absolute to make a file URI: ${imagePath}`);
  }
  return pathToFileURL(imagePath, { windows }).href;
}
