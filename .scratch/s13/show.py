import json,sys
L=open('bench/results/sasrec-tuning.jsonl').read().splitlines()
for a in sys.argv[1:]:
    i=int(a) if int(a)>0 else len(L)+1+int(a)
    d=json.loads(L[i-1]); c=d['config']; al=d['allItems']
    print(i,d['data'],d.get('tracks'),'lr',c['learningRate'],'art',c['artists'],'ep',d['epochs'],d['bestEpoch'],d['fitSeconds'],'| E excl hr %.4f ndcg %.4f | all hr %.4f ndcg %.4f | markov %.4f / %.4f'%(d['expectedHr10'],d['expectedNdcg10'],al['expectedHr10'],al['expectedNdcg10'],d['markovExpectedNdcg10'],al.get('markovExpectedNdcg10',0)),'term',d['transitionHead'],'alone',d.get('withoutMix',{}).get('allExpectedNdcg10'))
