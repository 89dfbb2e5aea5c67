/** Palette colours: the one a species was given, else an automatic one by its place in the palette. */

// Okabe and Ito's colour-blind-safe set, then Tableau 10's remaining hues: distinct on white and on photos.
const AUTOMATIC = ['#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7', '#4e79a7', '#59a14f', '#b07aa1', '#9c755f', '#76b7b2'];

/** A species' colour, `#rrggbb`: `stored` when set, else the automatic colour for palette position `index` (0-based). */
export function speciesColor(stored: string | null | undefined, index: number): string {
  return stored ?? AUTOMATIC[((index % AUTOMATIC.length) + AUTOMATIC.length) % AUTOMATIC.length]!;
}
