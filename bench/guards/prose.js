/** Plain business prose, the benign text the guards benchmarks time (run.js, compare-speed.js). */
export const PROSE = [
  'The quarterly review covered revenue, hiring and the product roadmap. Sales in the northern region grew steadily, while the southern region was flat because two large customers delayed their renewals until the next fiscal year.',
  'Our support team answered 4,210 tickets last month. The median first response time was 38 minutes, and 91 percent of customers rated the answer as helpful. Most questions were about invoices, shipping times and password resets.',
  'The new warehouse in Leipzig opens in March. It adds 12,000 square metres of storage and will handle returns for Germany, Austria and Switzerland, which today take up to nine days to process.',
  'During the migration the database will be read-only for about two hours. We will post updates on the status page and send a summary to all account owners once the work is complete.',
  'Engineering closed 214 issues this sprint, including the long-standing bug where exports in Excel format lost their date formatting when the user had a non-English locale.',
];

/** `parts` joined by blank lines, repeated until `size` characters. */
export function fill(parts, size) {
  let s = '';
  for (let i = 0; s.length < size; i++) s += (s ? '\n\n' : '') + parts[i % parts.length];
  return s.slice(0, size);
}
