// Chat mutators plus the counting ones, for the multi-instance test processes.
import { chatMutators } from '../src/chat-mutators.js';
import { countingMutators } from './counting-mutators.js';

export default { ...chatMutators, ...countingMutators };
