import { MemoryStore } from '../../../adapters/memory/store.ts';
import { storeContract } from './store-contract.ts';

const store = new MemoryStore();
storeContract('MemoryStore', { store: () => store });
