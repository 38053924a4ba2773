import { AutoTokenizer, env } from '@huggingface/transformers';
env.allowRemoteModels = false; 
const dir = process.argv[2];
env.localModelPath = dir;
const tok = await AutoTokenizer.from_pretrained('.', {local_files_only:true});
console.log(JSON.stringify(tok.encode("Hello world, 12345 <think>héllo", {add_special_tokens:false})));
