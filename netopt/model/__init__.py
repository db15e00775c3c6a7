"""The network-design MIP, in floors: the data (:mod:`~netopt.model.network`), the
formulation (:mod:`~netopt.model.build`), the solver adapter and its one clock
(:mod:`~netopt.model.highs`), the plan read back (:mod:`~netopt.model.extract`), the
strategies (the years' bound, LP rounding, passes over the years, years apart) and
:func:`netopt.model.solve.solve`, the pipeline that chains them."""
