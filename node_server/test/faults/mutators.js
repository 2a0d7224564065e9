// The fault suite's server mutators (loaded by its server processes via MUTATORS=...): the
// counting ones, whose results show a lost or doubled mutation, and `wait`, a slow one.
import { countingMutators } from '../counting-mutators.js';
import slowMutators from '../slow-mutators.js';

export default { ...countingMutators, ...slowMutators };
